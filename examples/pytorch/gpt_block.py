"""Trains one GPT-style transformer block (bf16 autocast), eager or torch.compile'd.

Batch 8, sequence 1024, d_model 1024, 16 heads: big enough that the GEMMs and the fused
attention kernel run near the tensor-core roof, while the layer norms and the GELU do not.
"""
import argparse

import torch
from torch import nn
from torch.nn import functional as F

from steps import require_cuda, timed_steps

BATCH, SEQ, D_MODEL, HEADS = 8, 1024, 1024, 16
WARMUP_STEPS = 5


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(D_MODEL)
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.proj = nn.Linear(D_MODEL, D_MODEL)
        self.ln2 = nn.LayerNorm(D_MODEL)
        self.fc1 = nn.Linear(D_MODEL, 4 * D_MODEL)
        self.fc2 = nn.Linear(4 * D_MODEL, D_MODEL)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = (h.view(b, t, HEADS, c // HEADS).transpose(1, 2) for h in self.qkv(self.ln1(x)).split(c, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="compile the block with torch.compile")
    parser.add_argument("--steps", type=int, default=50, help="timed steps (default 50)")
    args = parser.parse_args()
    require_cuda("gpt_block.py", args.steps)

    torch.manual_seed(0)
    block = Block().cuda()
    optimizer = torch.optim.AdamW(block.parameters(), lr=1e-4)
    forward = torch.compile(block) if args.compile else block
    x = torch.randn(BATCH, SEQ, D_MODEL, device="cuda")

    def step() -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = forward(x).float().pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    ms, loss = timed_steps(step, args.steps, WARMUP_STEPS)
    mode = "compiled" if args.compile else "eager"
    print(f"gpt_block {mode}: {ms:.3f} ms/step over {args.steps} steps, loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
