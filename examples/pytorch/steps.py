"""What the PyTorch examples share: a clear exit without a GPU, and the timed loop.

The loop runs warm-up steps inside an NVTX range "warmup" (compilation, autotuning and lazy
initialisation stay out of the timing), then each timed step inside a range "step", with no
synchronisation until the end: the CPU runs ahead of the GPU as it does in real training.
"""
import sys
import time
from typing import Callable, Tuple, TypeVar

import torch

T = TypeVar("T")


def require_cuda(script: str, steps: int) -> None:
    if not torch.cuda.is_available():
        sys.exit(f"{script}: CUDA is not available; this example needs an NVIDIA GPU")
    if steps < 1:
        sys.exit(f"{script}: --steps must be at least 1")


def timed_steps(step: Callable[[], T], steps: int, warmup: int) -> Tuple[float, T]:
    """Runs warmup, then steps, calls of step(); returns the ms per timed step and the last result."""
    torch.cuda.nvtx.range_push("warmup")
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.nvtx.range_pop()
    start = time.perf_counter()
    result = None
    for _ in range(steps):
        torch.cuda.nvtx.range_push("step")
        result = step()
        torch.cuda.nvtx.range_pop()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3 / steps, result
