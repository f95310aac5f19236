"""Trains a small MLP (4 layers of 1024) with AdamW on random data, eager or torch.compile'd.

Small layers leave the GPU waiting on the CPU's kernel launches, so this is a
launch-bound training loop: a roofline report shows most kernels far below both roofs.
"""
import argparse
import sys

import torch
from torch import nn

from steps import require_cuda, timed_steps

WIDTH = 1024
LAYERS = 4
WARMUP_STEPS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="compile the model with torch.compile")
    parser.add_argument("--steps", type=int, default=200, help="timed steps (default 200)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    args = parser.parse_args()
    require_cuda("mlp_train.py", args.steps)
    if args.batch < 1:
        sys.exit("mlp_train.py: --batch must be at least 1")

    torch.manual_seed(0)
    layers = []
    for i in range(LAYERS):
        layers.append(nn.Linear(WIDTH, WIDTH))
        if i + 1 < LAYERS:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    forward = torch.compile(model) if args.compile else model

    def step() -> torch.Tensor:
        # The data is made on the GPU, so no step waits for a host-to-device copy.
        x = torch.randn(args.batch, WIDTH, device="cuda")
        target = torch.randn(args.batch, WIDTH, device="cuda")
        loss = nn.functional.mse_loss(forward(x), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    ms, loss = timed_steps(step, args.steps, WARMUP_STEPS)
    mode = "compiled" if args.compile else "eager"
    print(f"mlp_train {mode}: {ms:.3f} ms/step over {args.steps} steps, batch {args.batch}, loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
