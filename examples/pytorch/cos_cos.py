"""x.cos().cos() over 64 Mi floats, eager or through torch.compile.

Eager PyTorch runs two kernels and sends the intermediate through DRAM; torch.compile fuses
them into one, so a roofline report of the two runs shows the same work at half the traffic.
"""
import argparse
import sys

import torch

from steps import require_cuda, timed_steps

ELEMENTS = 64 * 1024 * 1024


def cos_cos(x: torch.Tensor) -> torch.Tensor:
    return x.cos().cos()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="fuse the two cos with torch.compile")
    parser.add_argument("--steps", type=int, default=100, help="timed iterations (default 100)")
    args = parser.parse_args()
    require_cuda("cos_cos.py", args.steps)

    fn = torch.compile(cos_cos) if args.compile else cos_cos
    generator = torch.Generator(device="cuda").manual_seed(0)
    # Random inputs on the GPU: never time on zeros, and never pay for a host-to-device copy.
    x = torch.rand(ELEMENTS, device="cuda", generator=generator) * 8 - 4

    ms, z = timed_steps(lambda: fn(x), args.steps, warmup=3)

    # Compiled code may use a faster cos, hence a looser bound than the C++ demo's 1e-5.
    sample = slice(0, 1 << 20)
    error = (z[sample].double() - x[sample].double().cos().cos()).abs().max().item()
    if error > 1e-4:
        sys.exit(f"cos_cos.py: wrong result, max abs error {error:.3g}")
    mode = "compiled" if args.compile else "eager"
    print(f"cos_cos {mode}: {ms:.3f} ms/iter over {args.steps} steps")


if __name__ == "__main__":
    main()
