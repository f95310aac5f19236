#!/usr/bin/env python3
"""NCCL all-reduce time, nccl-tests style, against the NCCL kernel time in brrr's rank reports.

Two roles in one file:

- the worker (run by torchrun, RANK set): for each size, --warmup all-reduces of float32, then
  --iters all-reduces back to back, each between two CUDA events (start recorded just before
  the call, end just after), all inside an NVTX range "all-reduce <N> MiB" that brrr reports on
  its own. Each rank prints one JSON line: per size, the events' mean and median time per
  all-reduce, the loop's time per all-reduce (first start to last end over --iters), and the
  algorithm and bus bandwidths as nccl-tests defines them (algbw = bytes / time,
  busbw = algbw × 2(n−1)/n for an all-reduce of n ranks).
- the driver (no RANK): runs the worker under
  `torchrun --nproc-per-node N --no-python brrr profile --counters off -- python3 this.py`,
  reads each rank's report, and sets the events' time per all-reduce against brrr's: the time
  of the communication kernels inside each size's range, divided by --iters (and, where one
  NCCL kernel group ran for that size alone, its median launch). Optionally a plain run (no
  brrr) first, for what tracing does to the all-reduce itself. Writes Markdown.

    python3 bench/nccl_allreduce.py --bin build-device/bin --out nccl.md --reports r --log log.txt
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import statistics
import sys

from torchrun_runner import Runner, launcher

# Sizes in MiB and the timed all-reduces of each: enough iterations for a stable mean, few
# enough that the largest takes well under a second on NVLink.
DEFAULT_SIZES = "1:200,64:50,256:20"
# Issue 9's bound: brrr's NCCL kernel time within 10% of nccl-tests-style timing.
BOUND_FRACTION = 0.10


def parse_sizes(text):
    """"1:200,64:50" → [(1, 200), (64, 50)] (MiB, iterations)."""
    out = []
    for item in text.split(","):
        mib, _, iters = item.partition(":")
        out.append((int(mib), int(iters or 50)))
    if not out or any(m < 1 or i < 1 for m, i in out):
        sys.exit("nccl_allreduce.py: --sizes takes MiB:iterations pairs, both positive")
    return out


def range_name(mib):
    return f"all-reduce {mib} MiB"


def worker(args):
    import torch
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    rank, world = dist.get_rank(), dist.get_world_size()
    sizes = []
    for mib, iters in parse_sizes(args.sizes):
        buffer = torch.zeros(mib * 2**20 // 4, device="cuda", dtype=torch.float32)
        for _ in range(args.warmup):
            dist.all_reduce(buffer)
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
        torch.cuda.nvtx.range_push(range_name(mib))
        for start, end in zip(starts, ends):
            start.record()
            dist.all_reduce(buffer)
            end.record()
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_pop()
        per_op_us = [s.elapsed_time(e) * 1e3 for s, e in zip(starts, ends)]
        loop_us = starts[0].elapsed_time(ends[-1]) * 1e3 / iters
        mean_us = statistics.fmean(per_op_us)
        size = buffer.numel() * buffer.element_size()
        algbw = size / (mean_us * 1e-6) / 1e9
        sizes.append({"mib": mib, "bytes": size, "iters": iters, "range": range_name(mib), "event_us_mean": mean_us,
                      "event_us_median": statistics.median(per_op_us), "loop_us": loop_us,
                      "algbw_gb_s": algbw, "busbw_gb_s": algbw * 2 * (world - 1) / world})
    print(json.dumps({"rank": rank, "world_size": world, "sizes": sizes}), flush=True)
    dist.destroy_process_group()


def kernel_time_per_op(report, name, iters):
    """brrr's figures for one size's range: the communication kernels' time in it per all-reduce,
    and the median launch of the NCCL kernel group when that group ran in this range alone."""
    ranges = [r for r in report["ranges"] if r["name"] == name]
    if not ranges:
        return None, None
    kernels = report["kernels"]
    groups = [k for k in ranges[0]["kernels_ns"] if kernels[k["index"]]["analysis"]["bound"] == "communication"]
    per_op_ns = sum(k["ns"] for k in groups) / iters
    median_ns = None
    if len(groups) == 1:
        index = groups[0]["index"]
        elsewhere = [r for r in report["ranges"] if r["name"].startswith("all-reduce ") and r["name"] != name and
                     any(k["index"] == index for k in r["kernels_ns"])]
        if not elsewhere:
            median_ns = kernels[index]["duration_ns"]["median"]
    return per_op_ns / 1e3, (median_ns / 1e3 if median_ns is not None else None)


def measure(runner, brrr, nproc, sizes, reports, limit_s, plain=True, warmup=5):
    """Runs the benchmark (plain, then under brrr) and returns its Markdown lines and whether
    every size of every rank is within the bound."""
    script = os.path.abspath(__file__)
    worker_args = ["--sizes", sizes, "--warmup", str(warmup)]
    nproc_args = ["--nproc-per-node", str(nproc)]
    plain_ranks = {}
    if plain:
        _, plain_ranks = runner.run("all-reduce sizes, plain", launcher() + nproc_args + [script] + worker_args, reports,
                                    limit_s)
    folder = os.path.join(reports, "nccl-allreduce")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    traced_status, traced = runner.run(
        "all-reduce sizes under brrr",
        launcher() + nproc_args + ["--no-python", brrr, "profile", "--counters", "off", "--", sys.executable, script] +
        worker_args, folder, limit_s)
    lines = [
        "Each size: " + str(warmup) + " warm-up all-reduces of float32, then the timed ones back to back, each between "
        "two CUDA events (nccl-tests' way of timing, per operation), inside an NVTX range per size; under "
        "`torchrun --nproc-per-node " + str(nproc) + " --no-python brrr profile --counters off`. brrr: the NCCL "
        "kernels' time inside the size's range (`ranges[].kernels_ns`) divided by the timed all-reduces; its median "
        "launch where one NCCL kernel group ran for that size alone. busbw = algbw × 2(n−1)/n.",
        "",
        "| size | rank | iters | events µs/op (mean) | events µs/op (median) | loop µs/op | busbw GB/s | "
        "brrr kernel µs/op | brrr median µs | brrr vs events | plain events µs/op |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    all_within = bool(traced) and traced_status == 0
    for rank in sorted(traced):
        found = glob.glob(os.path.join(folder, f"brrr-*-rank{rank}.json"))
        report = json.load(open(found[0], encoding="utf-8")) if found else None
        plain_sizes = {s["mib"]: s for s in plain_ranks.get(rank, {}).get("sizes", [])}
        for s in traced[rank]["sizes"]:
            kernel_us, median_us = kernel_time_per_op(report, s["range"], s["iters"]) if report else (None, None)
            delta = (kernel_us - s["event_us_mean"]) / s["event_us_mean"] if kernel_us is not None else None
            all_within = all_within and delta is not None and abs(delta) <= BOUND_FRACTION
            p = plain_sizes.get(s["mib"])
            lines.append(
                f"| {s['mib']} MiB | {rank} | {s['iters']} | {s['event_us_mean']:.1f} | {s['event_us_median']:.1f} | "
                f"{s['loop_us']:.1f} | {s['busbw_gb_s']:.1f} | "
                f"{'–' if kernel_us is None else f'{kernel_us:.1f}'} | "
                f"{'–' if median_us is None else f'{median_us:.1f}'} | "
                f"{'–' if delta is None else f'{delta * 100:+.1f}%'} | "
                f"{'–' if p is None else format(p['event_us_mean'], '.1f')} |")
    if not traced:
        lines.append("| – | – | – | – | – | – | – | – | – | – | – |")
    lines += ["", f"Issue 9's bound: brrr's NCCL kernel time within {BOUND_FRACTION:.0%} of the events' time per "
              f"all-reduce, every size and rank: **{'met' if all_within else 'not met'}**.", ""]
    return lines, all_within


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"MiB:iterations pairs (default {DEFAULT_SIZES})")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up all-reduces per size (default 5)")
    parser.add_argument("--bin", default="build-device/bin", help="driver: the folder with brrr")
    parser.add_argument("--nproc", type=int, default=2, help="driver: ranks (default 2)")
    parser.add_argument("--out", help="driver: Markdown results")
    parser.add_argument("--reports", help="driver: folder for the reports")
    parser.add_argument("--log", help="driver: the commands' output")
    parser.add_argument("--limit", type=int, default=120, help="driver: seconds each run may take (default 120)")
    parser.add_argument("--no-plain", action="store_true", help="driver: skip the run without brrr")
    args = parser.parse_args()
    parse_sizes(args.sizes)
    if "RANK" in os.environ:
        worker(args)
        return
    if not (args.out and args.reports and args.log):
        sys.exit("nccl_allreduce.py: outside torchrun it drives the benchmark: give --out, --reports and --log")
    os.makedirs(args.reports, exist_ok=True)
    lines, within = measure(Runner(args.log), os.path.abspath(os.path.join(args.bin, "brrr")), args.nproc, args.sizes,
                            os.path.abspath(args.reports), args.limit, not args.no_plain, args.warmup)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = [f"## NCCL all-reduce: CUDA events against brrr's kernel time ({args.nproc} ranks, {now})", ""] + lines
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(page))
    print("\n".join(page))
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()
