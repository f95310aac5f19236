"""A multi-GPU PyTorch job for brrr's per-rank reports and brrr merge, run under torchrun.

A training-like loop: each step runs forward and backward passes of 4 bf16 linear layers
(4096 wide) over --micro-batches micro-batches, then one NCCL all-reduce of all the gradients
(as DDP's buckets do, in one go) and an SGD update. --imbalance F makes rank 1 run F times as
many micro-batches: it computes F times the work, and the other ranks' all-reduces wait for
it. Each rank prints one JSON line with its ms/step. (The all-reduce alone, timed nccl-tests
style, is bench/nccl_allreduce.py.)

    torchrun --nproc-per-node 2 examples/multigpu/allreduce.py --steps 50
    torchrun --nproc-per-node 2 examples/multigpu/allreduce.py --imbalance 2
    torchrun --nproc-per-node 2 --no-python build/bin/brrr profile -- python3 examples/multigpu/allreduce.py
"""
import argparse
import json
import os
import sys

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pytorch"))
from steps import require_cuda, timed_steps  # noqa: E402  (the shared timed loop, one folder over)

WIDTH = 4096
LAYERS = 4
LEARNING_RATE = 1e-4


def train(args: argparse.Namespace, rank: int, world: int) -> dict:
    torch.manual_seed(0)
    layers = [torch.nn.Linear(WIDTH, WIDTH, bias=False, device="cuda", dtype=torch.bfloat16) for _ in range(LAYERS)]
    params = [layer.weight for layer in layers]
    flat = torch.empty(sum(p.numel() for p in params), device="cuda", dtype=torch.bfloat16)
    micro_batches = round(args.micro_batches * (args.imbalance if rank == 1 else 1.0))
    x = torch.randn(args.batch, WIDTH, device="cuda", dtype=torch.bfloat16)

    def step() -> torch.Tensor:
        for p in params:
            p.grad = None
        for _ in range(micro_batches):
            h = x
            for layer in layers:
                h = torch.relu(layer(h))
            h.float().pow(2).mean().backward()
        torch.cat([p.grad.flatten() for p in params], out=flat)
        dist.all_reduce(flat)
        offset = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                p.add_(flat[offset:offset + n].view_as(p), alpha=-LEARNING_RATE / world)
                offset += n
        return flat

    ms, _ = timed_steps(step, args.steps, args.warmup)
    return {"mode": "train", "ms_per_step": ms, "steps": args.steps, "micro_batches": micro_batches,
            "gradient_bytes": flat.numel() * flat.element_size()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="timed steps (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up steps (default 5)")
    parser.add_argument("--batch", type=int, default=2048, help="rows per micro-batch (default 2048)")
    parser.add_argument("--micro-batches", type=int, default=2, help="micro-batches per step (default 2)")
    parser.add_argument("--imbalance", type=float, default=1.0,
                        help="rank 1 runs this many times the micro-batches (default 1)")
    args = parser.parse_args()
    if "RANK" not in os.environ:
        sys.exit("allreduce.py: run it under torchrun (RANK is not set)")
    require_cuda("allreduce.py", args.steps)
    if args.batch < 1 or args.micro_batches < 1 or args.imbalance <= 0 or args.warmup < 0:
        sys.exit("allreduce.py: --batch, --micro-batches and --imbalance must be positive, --warmup not negative")

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    rank, world = dist.get_rank(), dist.get_world_size()
    result = train(args, rank, world)
    print(json.dumps({"rank": rank, "world_size": world, **result}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
