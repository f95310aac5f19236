#!/usr/bin/env python3
"""NCCL all-reduce time from C++ (brrr-nccl-perf, nccl-tests' timing) against brrr's NCCL kernel time.

Runs build/bin/brrr-nccl-perf (bench/nccl_perf.cpp: one process driving every GPU, group calls
back to back between one pair of CUDA events per GPU, as nccl-tests' all_reduce_perf -g N;
loop and CUDA-graph modes) plainly, then under `brrr profile --counters off`, and sets each
GPU's events time per all-reduce against brrr's NCCL kernel time in the size's NVTX range:
the `communication` part of the range's attribution (communication and communication.wait)
per all-reduce. That part is the time the GPUs' NCCL kernels ran, with the time in which
several ran at once (one on each GPU, in step) split among them, so in sum it is the time any
GPU ran one: each GPU's all-reduce time where they run in step. Each GPU's own share of it,
and the median of its NCCL kernel group where one group ran only in this size, are shown too.
Unlike bench/nccl_allreduce.py from Python, the host here launches much faster than the GPUs
run, so the events hold no time in which the GPUs wait for the host.

    python3 bench/nccl_perf.py --bin build-device/bin --out nccl-c.md --reports r --log log.txt
"""

import argparse
import json
import os
import sys

from nccl_allreduce import BOUND_FRACTION, BOUND_MODE, finish, fmt, parse_sizes, range_figures, size_median_us, verdict_line
from torchrun_runner import Runner

DEFAULT_SIZES = "1:200,16:100,64:50,256:20"
MODES = ("loop", "graph")
# What brrr-nccl-perf's exit codes mean (bench/nccl_perf.cpp).
EXIT_MEANINGS = {1: "a CUDA or NCCL call failed", 2: "bad usage", 3: "NCCL could not be loaded"}


def results_of(stdout):
    """brrr-nccl-perf's JSON lines: one per size, mode and GPU."""
    out = []
    for line in (stdout or "").splitlines():
        line = line.strip()
        if line.startswith("{") and '"gpu"' in line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def gpu_share_us(report, name, device, ops):
    """The part of a range's NCCL kernel time that went to one GPU's kernels, per all-reduce in µs."""
    found = [r for r in report["ranges"] if r["name"] == name]
    if not found:
        return None
    kernels = report["kernels"]
    ns = sum(k["ns"] for k in found[0]["kernels_ns"]
             if kernels[k["index"]]["device"] == device and kernels[k["index"]]["analysis"]["bound"] == "communication")
    return ns / 1e3 / ops


def explain_status(status):
    meaning = EXIT_MEANINGS.get(status) if isinstance(status, int) else None
    return f"{status} ({meaning})" if meaning else str(status)


def measure(runner, bin_dir, sizes, reports, limit_s, plain=True, warmup=5, modes=",".join(MODES), graph_replays=3,
            nccl_lib=None):
    """Runs brrr-nccl-perf plainly and under brrr; returns Markdown lines and whether issue 9's
    bound is met (every size and GPU of the graph mode, as in nccl_allreduce.py)."""
    perf = os.path.abspath(os.path.join(bin_dir, "brrr-nccl-perf"))
    brrr = os.path.abspath(os.path.join(bin_dir, "brrr"))
    args = ["--sizes", sizes, "--warmup", str(warmup), "--modes", modes, "--graph-replays", str(graph_replays)]
    if nccl_lib:
        args += ["--nccl-lib", nccl_lib]
    plain_results = {}
    if plain:
        status, _ = runner.run("brrr-nccl-perf, plain", [perf] + args, reports, limit_s)
        plain_results = {(r["mib"], r["mode"], r["gpu"]): r for r in results_of(runner.last_stdout)}
        if status != 0:
            print(f"nccl_perf.py: brrr-nccl-perf exit {explain_status(status)}: see the log", file=sys.stderr)
    report_path = os.path.join(reports, "nccl-perf.json")
    status, _ = runner.run("brrr-nccl-perf under brrr",
                           [brrr, "profile", "--counters", "off", "--force", "-o", report_path, "--", perf] + args,
                           reports, limit_s)
    traced = results_of(runner.last_stdout)
    report = None
    if os.path.exists(report_path):
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    command = f"brrr profile --counters off -- brrr-nccl-perf {' '.join(args)}"
    lines = [
        f"`{command}`: one process over {traced[0]['gpus'] if traced else '?'} GPUs (ncclCommInitAll), each size "
        f"of float32 after {warmup} warm-up all-reduces: **loop**, the all-reduces back to back, one group call over "
        "the GPUs each, between one pair of CUDA events per GPU (nccl-tests' default timing, from C++: the GPUs set "
        f"the pace); **graph**, the same group calls captured into one CUDA graph per GPU and replayed "
        f"{graph_replays}× between the events after an untimed replay (nccl-tests -G). brrr: the `communication` "
        "part of the size's NVTX range per all-reduce, the NCCL kernels' time with the time in which several ran "
        "at once split among them, so that in sum it is the time any GPU ran one; GPU share: the part of it that "
        "went to that GPU's kernels (about 1/n of it when the GPUs run in step); kernel median: the median of the "
        "GPU's NCCL kernel group, where one group ran only in this size. busbw = algbw × 2(n−1)/n from the events.",
        "",
        "| size | mode | GPU | all-reduces | events µs/op | busbw GB/s | brrr NCCL kernels µs/op | brrr vs events | "
        "GPU share µs/op | kernel median µs | plain events µs/op |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    deltas = {}  # mode → [(|delta| or None, size, gpu)]
    for s in traced:
        b = range_figures(report, s["range"], s["ops"]) if report else None
        delta = (b["kernel_us"] - s["event_us"]) / s["event_us"] if b else None
        deltas.setdefault(s["mode"], []).append((delta, s["mib"], s["gpu"]))
        p = plain_results.get((s["mib"], s["mode"], s["gpu"]))
        lines.append(
            f"| {s['mib']} MiB | {s['mode']} | {s['gpu']} | {s['ops']} | {s['event_us']:.1f} | {s['busbw_gb_s']:.1f} | "
            f"{fmt(b and b['kernel_us'])} | {fmt(None if delta is None else delta * 100, '+.1f', '%')} | "
            f"{fmt(gpu_share_us(report, s['range'], s['gpu'], s['ops']) if report else None)} | "
            f"{fmt(size_median_us(report, s['mib'], s['gpu']) if report else None)} | "
            f"{fmt(p and p['event_us'])} |")
    if not traced:
        lines.append(f"| – | – | – | – | no results: brrr-nccl-perf exit {explain_status(status)}, see the log | – | – | "
                     "– | – | – | – |")
    lines.append("")
    verdicts = {}
    for mode, measured in deltas.items():
        verdicts[mode] = status == 0 and all(d is not None and abs(d) <= BOUND_FRACTION for d, _, _ in measured)
        lines.append(verdict_line(mode, measured, verdicts[mode], "GPU"))
    met = verdicts.get(BOUND_MODE, False) and report is not None
    lines += ["", f"Issue 9's bound, judged on the {BOUND_MODE} mode (nccl-tests -G timing, which the host cannot slow "
              f"down; in the loop the traced host can set the pace at small sizes): brrr's NCCL kernel time within "
              f"{BOUND_FRACTION:.0%} of the events' time per all-reduce, every size and GPU: "
              f"**{'met' if met else 'not met'}**.", ""]
    return lines, met


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="build-device/bin", help="the folder with brrr and brrr-nccl-perf")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"MiB:iterations pairs (default {DEFAULT_SIZES})")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated (default {','.join(MODES)})")
    parser.add_argument("--graph-replays", type=int, default=3, help="graph: timed replays (default 3)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up all-reduces per size (default 5)")
    parser.add_argument("--nccl-lib", default=os.environ.get("BRRR_NCCL_LIB"),
                        help="the NCCL library (default $BRRR_NCCL_LIB, else libnccl.so.2)")
    parser.add_argument("--out", required=True, help="Markdown results")
    parser.add_argument("--reports", required=True, help="folder for the report")
    parser.add_argument("--log", required=True, help="the commands' output")
    parser.add_argument("--limit", type=int, default=60, help="seconds each run may take (default 60)")
    parser.add_argument("--no-plain", action="store_true", help="skip the run without brrr")
    args = parser.parse_args()
    parse_sizes(args.sizes)
    if any(m not in MODES for m in args.modes.split(",")):
        sys.exit(f"nccl_perf.py: --modes takes some of {','.join(MODES)}, not {args.modes!r}")
    for tool in ("brrr", "brrr-nccl-perf"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            sys.exit(f"nccl_perf.py: no {tool} in {args.bin} (--bin)")
    reports = os.path.abspath(args.reports)
    os.makedirs(reports, exist_ok=True)
    lines, met = measure(Runner(args.log), args.bin, args.sizes, reports, args.limit, not args.no_plain, args.warmup,
                         args.modes, args.graph_replays, args.nccl_lib)
    finish(args.out, "NCCL all-reduce from C++: CUDA events against brrr's NCCL kernel time", lines, met)


if __name__ == "__main__":
    main()
