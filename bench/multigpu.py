#!/usr/bin/env python3
"""brrr on a multi-GPU job, on a machine with several GPUs, PyTorch and a built brrr.

Runs examples/multigpu/allreduce.py under torchrun:
  1. the training loop plain, and under `brrr profile` inside the launcher (counters off, then
     the default), in alternating rounds: each rank's ms/step, medians, and brrr's overhead;
  2. the same loop with rank 1 doing --imbalance times the work, under brrr, then `brrr merge`:
     the straggler, its cause, the load imbalance, each rank's wait in its all-reduces;
  3. the balanced loop's reports merged too (no straggler expected);
  4. `brrr profile -- torchrun ...` (brrr in front of the launcher): one report, each worker's rank;
  5. an all-reduce of --size-mb MiB timed with CUDA events (nccl-tests style), plain and under
     brrr, against the NCCL kernel time in brrr's report of each rank.
Writes Markdown to --out, the reports to --reports, and the commands' output to --log.

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
import time

import torch

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "multigpu", "allreduce.py")


class Runner:
    """Runs commands with a time limit, keeps their output in the log, and parses the ranks' JSON lines."""

    def __init__(self, log_path):
        self.log = open(log_path, "a", encoding="utf-8")

    def run(self, name, command, cwd, limit_s):
        self.log.write(f"\n== {name}\n$ (cd {cwd} && {' '.join(command)})\n")
        self.log.flush()
        start = time.monotonic()
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=limit_s)
            status, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as e:
            status = "timeout"
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        seconds = time.monotonic() - start
        self.log.write(out + err[-6000:] + f"\n== {name}: exit {status} after {seconds:.1f} s\n")
        self.log.flush()
        print(f"== {name}: exit {status} after {seconds:.1f} s", flush=True)
        return status, ranks_of(out)


def ranks_of(stdout):
    """The JSON lines the ranks print, by rank."""
    out = {}
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"rank"' in line:
            try:
                j = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[j["rank"]] = j
    return out


def launcher():
    torchrun = shutil.which("torchrun")
    return [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]


def median(values):
    return statistics.median(values) if values else float("nan")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def collective_kernel(report):
    """The communication kernel group with the most time, or None."""
    groups = [k for k in report["kernels"] if k.get("analysis", {}).get("bound") == "communication"]
    return max(groups, key=lambda k: k["duration_ns"]["total"]) if groups else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="build-device/bin")
    parser.add_argument("--out", required=True, help="Markdown results")
    parser.add_argument("--reports", required=True, help="folder for the reports")
    parser.add_argument("--log", required=True)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--imbalance", type=float, default=2.0)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--script", default=SCRIPT, help="the job (default examples/multigpu/allreduce.py)")
    parser.add_argument("--limit", type=int, default=150, help="seconds each run may take (default 150)")
    args = parser.parse_args()
    brrr = os.path.abspath(os.path.join(args.bin, "brrr"))
    script = os.path.abspath(args.script)
    reports = os.path.abspath(args.reports)
    os.makedirs(reports, exist_ok=True)
    runner = Runner(args.log)
    nproc = ["--nproc-per-node", str(args.nproc)]
    python = [sys.executable, script]
    train = ["--steps", str(args.steps)]

    def inside(folder, target, counters):
        """torchrun ... brrr profile -- python3 allreduce.py: one report per rank, in folder."""
        os.makedirs(folder, exist_ok=True)
        return launcher() + nproc + ["--no-python", brrr, "profile", "--counters", counters, "--"] + python + target

    # 1. Overhead: plain against brrr inside the launcher, alternating.
    configs = [("plain", None), ("brrr, --counters off", "off"), ("brrr (default: counters first:1)", "first:1")]
    step_ms = {name: {} for name, _ in configs}
    for round_index in range(args.rounds):
        for name, counters in configs:
            folder = os.path.join(reports, "scratch")
            shutil.rmtree(folder, ignore_errors=True)
            command = (launcher() + nproc + [script] + train) if counters is None else inside(folder, train, counters)
            os.makedirs(folder, exist_ok=True)
            _, ranks = runner.run(f"overhead round {round_index + 1}: {name}", command, folder, args.limit)
            for rank, j in ranks.items():
                step_ms[name].setdefault(rank, []).append(j["ms_per_step"])
    shutil.rmtree(os.path.join(reports, "scratch"), ignore_errors=True)

    # 2, 3. Balanced and imbalanced jobs under brrr, merged.
    merged = {}
    for label, extra in (("balanced", []), ("imbalanced", ["--imbalance", str(args.imbalance)])):
        folder = os.path.join(reports, label)
        shutil.rmtree(folder, ignore_errors=True)
        runner.run(f"{label} job under brrr", inside(folder, train + extra, "first:1"), folder, args.limit)
        rank_reports = sorted(glob.glob(os.path.join(folder, "brrr-*-rank*.json")))
        target = os.path.join(reports, f"merged-{label}.json")
        status, _ = runner.run(f"merge {label}", [brrr, "merge", "-o", target, "--force"] + rank_reports, folder, 60)
        runner.run(f"explain {label} (md)", [brrr, "explain", "--format", "md", target], folder, 60)
        if status == 0 and os.path.exists(target):
            merged[label] = load(target)

    # 4. brrr in front of the launcher.
    outside_path = os.path.join(reports, "outside.json")
    runner.run("brrr profile -- torchrun ...",
               [brrr, "profile", "--force", "-o", outside_path, "--"] + launcher() + nproc + [script] + train,
               reports, args.limit)
    outside = load(outside_path) if os.path.exists(outside_path) else None

    # 5. All-reduce time: CUDA events against brrr's NCCL kernel time.
    ar = ["--mode", "allreduce", "--size-mb", str(args.size_mb)]
    _, ar_plain = runner.run("all-reduce, plain", launcher() + nproc + [script] + ar, reports, args.limit)
    ar_folder = os.path.join(reports, "allreduce")
    shutil.rmtree(ar_folder, ignore_errors=True)
    _, ar_traced = runner.run("all-reduce under brrr", inside(ar_folder, ar, "first:1"), ar_folder, args.limit)

    # The results.
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip().splitlines()
    lines = [
        "# brrr on a multi-GPU job",
        "",
        f"Recorded on {len(gpu)} × {gpu[0] if gpu else 'unknown GPU'} (PyTorch {torch.__version__}, "
        f"NCCL {'.'.join(map(str, torch.cuda.nccl.version()))}), {now}, with "
        f"`scripts/device-multigpu.sh` (`python3 bench/multigpu.py --nproc {args.nproc} --rounds {args.rounds} "
        f"--steps {args.steps} --imbalance {args.imbalance} --size-mb {args.size_mb}`). The job is "
        "examples/multigpu/allreduce.py under torchrun: 4 bf16 linear layers of 4096, 2 micro-batches of 2048 "
        "rows a step, one NCCL all-reduce of the gradients (128 MiB) a step.",
        "",
        f"## Tracing overhead per rank ({args.steps} steps, {args.rounds} rounds, medians)",
        "",
        "`torchrun --nproc-per-node N --no-python brrr profile [--counters off] -- python3 allreduce.py` against "
        "the plain `torchrun ... allreduce.py`, alternating.",
        "",
        "| configuration | rank | median ms/step | all rounds | vs plain |",
        "|---|---:|---:|---|---:|",
    ]
    plain = step_ms["plain"]
    for name, _ in configs:
        for rank in sorted(step_ms[name]):
            values = step_ms[name][rank]
            base = median(plain.get(rank, []))
            lines.append(f"| {name} | {rank} | {median(values):.3f} | {', '.join(f'{v:.2f}' for v in values)} | "
                         f"{median(values) / base:.2f}× |")
    lines += ["", "Issue 3's bound for a PyTorch loop: brrr ≤ 1.15× the plain step time.", ""]

    for label in ("imbalanced", "balanced"):
        lines += [f"## The {label} job, merged", ""]
        m = merged.get(label)
        if not m:
            lines += ["Not merged: see the log.", ""]
            continue
        job = m["job"]
        lines += [f"`brrr merge` of the {len(m['ranks'])} ranks' reports"
                  + (f" (rank 1 runs {args.imbalance:g}× the micro-batches)" if label == "imbalanced" else "") + ":",
                  "", f"> {job['verdict']['headline']}", "",
                  f"- load imbalance: {job['load_imbalance_fraction']:.3f} "
                  f"(mean work {job['mean_work_ns'] / 1e6:.2f} ms, max {job['max_work_ns'] / 1e6:.2f} ms)"]
        s = job["straggler"]
        lines.append(f"- straggler: rank {s['rank']} ({s['cause']}: {s['cause_ns'] / 1e6:.2f} ms against "
                     f"{s['others_cause_ns'] / 1e6:.2f} ms on the others)" if s else "- straggler: none")
        lines += ["", "| rank | GPU-active ms | own work ms | collectives ms | of which waiting ms | own verdict |",
                  "|---:|---:|---:|---:|---:|---|"]
        for r in m["ranks"]:
            active = r["attribution"]["gpu_active"]["wall_ns"]
            lines.append(f"| {r['rank']} | {active / 1e6:.2f} | {r['work_ns'] / 1e6:.2f} | "
                         f"{(r['communication_ns'] + r['communication_wait_ns']) / 1e6:.2f} | "
                         f"{r['communication_wait_ns'] / 1e6:.2f} | {r['regime']} |")
        lines.append("")

    lines += ["## brrr in front of the launcher", ""]
    if outside:
        lines += ["`brrr profile -- torchrun ...`: one report; the processes and their ranks:", "",
                  "| pid | parent | rank | kernel launches |", "|---:|---:|---:|---:|"]
        for p in outside["processes"]:
            rank = p.get("rank")
            lines.append(f"| {p['pid']} | {p['parent_pid']} | {rank['rank'] if rank else '–'} | "
                         f"{p['kernel_launches']} |")
        lines += ["", f"> {outside['verdict']['headline']}", ""]
    else:
        lines += ["No report: see the log.", ""]

    lines += [f"## All-reduce of {args.size_mb} MiB: CUDA events against brrr's NCCL kernel time", "",
              "Event time: `--iters` all-reduces back to back between two CUDA events, divided by their number "
              "(nccl-tests' method). brrr: the NCCL kernel group with the most time in each rank's report (the "
              "warm-up's launches included), its median and mean launch.", "",
              "| rank | plain: µs/op | plain: busbw GB/s | traced: µs/op | brrr median µs | brrr mean µs | "
              "median vs traced events |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for rank in sorted(set(ar_plain) | set(ar_traced)):
        p, t = ar_plain.get(rank, {}), ar_traced.get(rank, {})
        found = glob.glob(os.path.join(ar_folder, f"brrr-*-rank{rank}.json"))
        kernel = collective_kernel(load(found[0])) if found else None
        median_us = kernel["duration_ns"]["median"] / 1e3 if kernel else float("nan")
        mean_us = kernel["duration_ns"]["total"] / max(1, kernel["launches"] - kernel["untimed_launches"]) / 1e3 \
            if kernel else float("nan")
        traced = t.get("us_per_op", float("nan"))
        lines.append(f"| {rank} | {p.get('us_per_op', float('nan')):.1f} | {p.get('busbw_gb_s', float('nan')):.1f} | "
                     f"{traced:.1f} | {median_us:.1f} | {mean_us:.1f} | {(median_us - traced) / traced * 100:+.1f}% |")
    lines += ["", "Issue 9's bound: NCCL all-reduce time matches nccl-tests-style timing within 10%.", ""]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
