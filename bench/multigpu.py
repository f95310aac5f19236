#!/usr/bin/env python3
"""brrr on a multi-GPU job, on a machine with several GPUs, PyTorch and a built brrr.

Runs examples/multigpu/allreduce.py under torchrun, in parts (--parts, all by default):
  overhead: the training loop plain, and under `brrr profile` inside the launcher (counters off,
      then the default), in alternating rounds (--rounds; 0 skips): each rank's ms/step,
      medians, and brrr's overhead;
  jobs: the same loop with rank 1 doing --imbalance times the work, under brrr, then `brrr
      merge`: the straggler, its cause, the load imbalance, each rank's wait in its all-reduces;
      then the balanced loop the same way (no straggler expected);
  outside: `brrr profile -- torchrun ...` (brrr in front of the launcher): one report, each
      worker's rank;
  nccl: bench/nccl_allreduce.py: all-reduces of several sizes timed with CUDA events under
      brrr, each one between its own pair, back to back between one pair and replayed from a
      CUDA graph between one pair (nccl-tests' timings, --nccl-modes), against the NCCL kernel
      time and the GPU idle in each rank's report;
  nccl-c: bench/nccl_perf.py: the same sizes from brrr-nccl-perf, C++ in one process over every
      GPU as nccl-tests' all_reduce_perf -g N (loop and graph), plainly and under brrr, its
      events against brrr's NCCL kernel time per GPU (--nccl-lib: the NCCL library it loads).
Writes Markdown to --out after every part (a time limit that cuts the run leaves what was
done), the reports to --reports, and the commands' output to --log.

    python3 bench/multigpu.py --bin build-device/bin --out multigpu-h100.md --reports reports --log log.txt
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys

import torch

import nccl_perf
from nccl_allreduce import DEFAULT_SIZES, MODES, measure, parse_modes, parse_sizes
from torchrun_runner import Runner, launcher

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "multigpu", "allreduce.py")
PARTS = ("overhead", "jobs", "outside", "nccl", "nccl-c")


def median(values):
    return statistics.median(values) if values else float("nan")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def ms(ns):
    return f"{ns / 1e6:.2f}"


def overhead_lines(step_ms, configs, args):
    lines = [f"## Tracing overhead per rank ({args.steps} steps, {args.rounds} rounds, medians)", "",
             "`torchrun --nproc-per-node N --no-python brrr profile [--counters off] -- python3 allreduce.py` against "
             "the plain `torchrun ... allreduce.py`, alternating.", "",
             "| configuration | rank | median ms/step | all rounds | vs plain |", "|---|---:|---:|---|---:|"]
    plain = step_ms["plain"]
    for name, _ in configs:
        for rank in sorted(step_ms[name]):
            values = step_ms[name][rank]
            base = median(plain.get(rank, []))
            lines.append(f"| {name} | {rank} | {median(values):.3f} | {', '.join(f'{v:.2f}' for v in values)} | "
                         f"{median(values) / base:.3f}× |")
    return lines + ["", "Issue 3's bound for a PyTorch loop: brrr ≤ 1.15× the plain step time.", ""]


def job_lines(label, m, imbalance):
    """A merged job: its verdict, the rule's figures, and each rank's."""
    lines = [f"## The {label} job, merged", ""]
    if not m:
        return lines + ["Not merged: see the log.", ""]
    job = m["job"]
    lines += [f"`brrr merge` of the {len(m['ranks'])} ranks' reports"
              + (f" (rank 1 runs {imbalance:g}× the micro-batches)" if label == "imbalanced" else "") + ":", "",
              f"> {job['verdict']['headline']}", "",
              f"- compared span: `{job['compared_span']}`; decision: `{job['straggler_decision']}`",
              f"- load imbalance: {job['load_imbalance_fraction']:.3f} "
              f"(mean work {ms(job['mean_work_ns'])} ms, max {ms(job['max_work_ns'])} ms)"]
    s = job["slowest"]
    if s:
        launches = max(1, s["collective_launches"])
        lines += [f"- the rank with the most work: rank {s['rank']}, {s['cause']} ({ms(s['cause_ns'])} ms against "
                  f"{ms(s['others_cause_ns'])} ms on the others); excess {ms(s['excess_ns'])} ms",
                  f"- the others' wait beyond its own: {ms(s['others_wait_excess_ns'])} ms "
                  f"({s['others_wait_excess_ns'] / max(1, s['excess_ns']):.2f}× its excess; the rule needs 0.5×)",
                  f"- its lead per collective: {s['median_lead_ns'] / launches / 1e3:.1f} µs at the median, "
                  f"{s['mean_lead_ns'] / launches / 1e3:.1f} µs in the mean over {s['collective_launches']} "
                  f"(ratio {s['median_lead_ns'] / s['mean_lead_ns'] if s['mean_lead_ns'] else float('nan'):.2f}; "
                  "the rule needs 0.5)"]
    lines += ["", "| rank | GPU-active ms | compared span ms | own work ms | collectives ms | of which waiting ms | "
              "own verdict |", "|---:|---:|---:|---:|---:|---:|---|"]
    for r in m["ranks"]:
        attribution = r["attribution"]
        span = attribution["between_collectives"] if job["compared_span"] == "between_collectives" else \
            attribution["gpu_active"]
        lines.append(f"| {r['rank']} | {ms(attribution['gpu_active']['wall_ns'])} | {ms(span['wall_ns'])} | "
                     f"{ms(r['work_ns'])} | {ms(r['communication_ns'] + r['communication_wait_ns'])} | "
                     f"{ms(r['communication_wait_ns'])} | {r['regime']} |")
    return lines + [""]


def outside_lines(outside):
    lines = ["## brrr in front of the launcher", ""]
    if not outside:
        return lines + ["No report: see the log.", ""]
    lines += ["`brrr profile -- torchrun ...`: one report; the processes and their ranks:", "",
              "| pid | parent | rank | kernel launches |", "|---:|---:|---:|---:|"]
    for p in outside["processes"]:
        rank = p.get("rank")
        lines.append(f"| {p['pid']} | {p['parent_pid']} | {rank['rank'] if rank else '–'} | {p['kernel_launches']} |")
    return lines + ["", f"> {outside['verdict']['headline']}", ""]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="build-device/bin")
    parser.add_argument("--out", required=True, help="Markdown results")
    parser.add_argument("--reports", required=True, help="folder for the reports")
    parser.add_argument("--log", required=True)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which parts, comma-separated (default all: "
                        f"{','.join(PARTS)})")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--imbalance", type=float, default=2.0)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"nccl: MiB:iterations (default {DEFAULT_SIZES})")
    parser.add_argument("--nccl-modes", default=",".join(MODES), help=f"nccl: timings, comma-separated (default "
                        f"{','.join(MODES)})")
    parser.add_argument("--nccl-plain", action=argparse.BooleanOptionalAction, default=True,
                        help="nccl: also run the all-reduces without brrr (default on)")
    parser.add_argument("--nccl-lib", default=os.environ.get("BRRR_NCCL_LIB"),
                        help="nccl-c: the NCCL library brrr-nccl-perf loads (default $BRRR_NCCL_LIB, else libnccl.so.2)")
    parser.add_argument("--script", default=SCRIPT, help="the job (default examples/multigpu/allreduce.py)")
    parser.add_argument("--limit", type=int, default=150, help="seconds each run may take (default 150)")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    if any(p not in PARTS for p in parts):
        sys.exit(f"multigpu.py: --parts takes {', '.join(PARTS)}")
    parse_sizes(args.sizes)
    parse_modes(args.nccl_modes)
    brrr = os.path.abspath(os.path.join(args.bin, "brrr"))
    script = os.path.abspath(args.script)
    reports = os.path.abspath(args.reports)
    os.makedirs(reports, exist_ok=True)
    runner = Runner(args.log)
    nproc = ["--nproc-per-node", str(args.nproc)]
    train = ["--steps", str(args.steps)]

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip().splitlines()
    page = [
        "# brrr on a multi-GPU job",
        "",
        f"Recorded on {len(gpu)} × {gpu[0] if gpu else 'unknown GPU'} (PyTorch {torch.__version__}, "
        f"NCCL {'.'.join(map(str, torch.cuda.nccl.version()))}), {now}, with "
        f"`scripts/device-multigpu.sh` (`python3 bench/multigpu.py --parts {','.join(parts)} --nproc {args.nproc} "
        f"--rounds {args.rounds} --steps {args.steps} --imbalance {args.imbalance} --sizes {args.sizes} --nccl-modes "
        f"{args.nccl_modes}`). The job is "
        "examples/multigpu/allreduce.py under torchrun: 4 bf16 linear layers of 4096, 2 micro-batches of 2048 "
        "rows a step, one NCCL all-reduce of the gradients (128 MiB) a step.",
        "",
    ]

    def write(lines):
        page.extend(lines)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write("\n".join(page))

    def inside(folder, target, counters):
        """torchrun ... brrr profile -- python3 allreduce.py: one report per rank, in folder."""
        os.makedirs(folder, exist_ok=True)
        return launcher() + nproc + ["--no-python", brrr, "profile", "--counters", counters, "--",
                                     sys.executable, script] + target

    write([])
    if "overhead" in parts and args.rounds > 0:
        configs = [("plain", None), ("brrr, --counters off", "off"), ("brrr (default: counters first:1)", "first:1")]
        step_ms = {name: {} for name, _ in configs}
        for round_index in range(args.rounds):
            for name, counters in configs:
                folder = os.path.join(reports, "scratch")
                shutil.rmtree(folder, ignore_errors=True)
                os.makedirs(folder)
                command = (launcher() + nproc + [script] + train) if counters is None else \
                    inside(folder, train, counters)
                _, ranks = runner.run(f"overhead round {round_index + 1}: {name}", command, folder, args.limit)
                for rank, j in ranks.items():
                    step_ms[name].setdefault(rank, []).append(j["ms_per_step"])
        shutil.rmtree(os.path.join(reports, "scratch"), ignore_errors=True)
        write(overhead_lines(step_ms, configs, args))

    if "jobs" in parts:
        for label, extra in (("imbalanced", ["--imbalance", str(args.imbalance)]), ("balanced", [])):
            folder = os.path.join(reports, label)
            shutil.rmtree(folder, ignore_errors=True)
            runner.run(f"{label} job under brrr", inside(folder, train + extra, "first:1"), folder, args.limit)
            rank_reports = sorted(glob.glob(os.path.join(folder, "brrr-*-rank*.json")))
            target = os.path.join(reports, f"merged-{label}.json")
            status, _ = runner.run(f"merge {label}", [brrr, "merge", "-o", target, "--force"] + rank_reports, folder,
                                   60)
            runner.run(f"explain {label} (md)", [brrr, "explain", "--format", "md", target], folder, 60)
            write(job_lines(label, load(target) if status == 0 and os.path.exists(target) else None, args.imbalance))

    if "outside" in parts:
        outside_path = os.path.join(reports, "outside.json")
        runner.run("brrr profile -- torchrun ...",
                   [brrr, "profile", "--force", "-o", outside_path, "--"] + launcher() + nproc + [script] + train,
                   reports, args.limit)
        write(outside_lines(load(outside_path) if os.path.exists(outside_path) else None))

    if "nccl" in parts:
        lines, _ = measure(runner, brrr, args.nproc, args.sizes, reports, args.limit, args.nccl_plain,
                           modes=args.nccl_modes)
        write(["## NCCL all-reduce: CUDA events against brrr's NCCL kernel time", ""] + lines)

    if "nccl-c" in parts:
        lines, _ = nccl_perf.measure(runner, args.bin, args.sizes, reports, args.limit, args.nccl_plain,
                                     nccl_lib=args.nccl_lib)
        write(["## NCCL all-reduce from C++ (nccl-tests' timing): CUDA events against brrr's NCCL kernel time", ""]
              + lines)
    print("\n".join(page))


if __name__ == "__main__":
    main()
