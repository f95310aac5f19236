#!/usr/bin/env python3
"""Tracing overhead of `brrr profile`, on a GPU machine with a built brrr.

Runs each program plain, under the bare-CUPTI floor (CONCURRENT_KERNEL activity only, via
libbrrr-floor-inject.so), and under brrr (counters off, then the default counters), in
alternating rounds, and takes medians. Then measures a 1 000 000-launch run: the profiled
process's peak memory against the plain run's, brrr's own peak memory, and how long brrr takes
to write the report once the target has exited. Writes Markdown to --out.

    python3 bench/trace_overhead.py --bin build-device/bin --out bench/results/trace-overhead-h100.md
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def run(command, env=None):
    """Runs a command; returns (stdout, stderr, wall seconds, its peak RSS in KiB). The peak is
    read in a fresh wrapper process: RUSAGE_CHILDREN of this one keeps the largest child so far."""
    wrapper = [sys.executable, "-c",
               "import resource,subprocess,sys;"
               "p=subprocess.run(sys.argv[1:]);"
               "print('peak_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
               "sys.exit(p.returncode)"]
    start = time.monotonic()
    done = subprocess.run(wrapper + command, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peak = re.findall(r"peak_kib (\d+)", done.stderr)
    return done.stdout, done.stderr, wall, int(peak[-1]) if peak else None


def measure(output, pattern):
    match = re.search(pattern, output)
    if not match:
        sys.exit(f"no figure matching {pattern!r} in:\n{output[-2000:]}")
    return float(match.group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="build-device/bin")
    parser.add_argument("--out", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--ladder", action="store_true",
                        help="price each part of the tracing separately, on both programs")
    parser.add_argument("--no-million", action="store_true", help="skip the 1 000 000-launch run")
    parser.add_argument("--programs", default="loop,mlp",
                        help="which programs to time, comma-separated: loop (the launch loop), loop-driver (the "
                             "same through the driver API), mlp (PyTorch)")
    args = parser.parse_args()
    bin_dir = os.path.abspath(args.bin)
    brrr = os.path.join(bin_dir, "brrr")
    floor = os.path.join(bin_dir, "libbrrr-floor-inject.so")
    scratch = tempfile.mkdtemp(prefix="brrr-bench-")
    report = os.path.join(scratch, "r.json")

    def configs(target, ladder):
        """Plain, the floor, and brrr; with ladder, brrr also with its parts turned off one by
        one (the injection library's diagnostic switches), to price each part."""
        plain_env = dict(os.environ)
        floor_env = dict(os.environ, CUDA_INJECTION64_PATH=floor)
        base = [brrr, "profile", "-q", "--force", "-o", report]
        off = base + ["--counters", "off", "--"] + target
        out = [("plain", target, plain_env), ("bare CUPTI floor", target, floor_env)]
        if ladder:
            # Each part alone on top of "kernels only", then everything but one part.
            alone = dict(BRRR_TRACE_API="0", BRRR_TRACE_OTHER="0")
            out.append(("brrr, kernels only", off, dict(os.environ, **alone)))
            for label, switch in [("+ copies", dict(BRRR_TRACE_OTHER="MEMCPY")),
                                  ("+ sets", dict(BRRR_TRACE_OTHER="MEMSET")),
                                  ("+ NVTX", dict(BRRR_TRACE_OTHER="MARKER")),
                                  ("+ runtime launch records", dict(BRRR_TRACE_API="runtime")),
                                  ("+ driver launch records", dict(BRRR_TRACE_API="driver"))]:
                out.append((f"brrr, kernels {label}", off, dict(os.environ, **dict(alone, **switch))))
            queued = base + ["--counters", "off", "--queued-timestamps", "--"] + target
            out.append(("brrr, kernels + queued timestamps", queued, dict(os.environ, BRRR_TRACE_API="0",
                                                                          BRRR_TRACE_OTHER="0")))
            out.append(("brrr, --counters off --queued-timestamps", queued, plain_env))
            # The counters' launch callbacks without any sampling (no launch is in this range),
            # against the default, where the range profiler is enabled after the first sample.
            out.append(("brrr, counter callbacks, nothing sampled",
                        base + ["--counters-range", "brrr-no-such-range", "--"] + target, plain_env))
        out += [
            ("brrr, --counters off", off, plain_env),
            ("brrr (default: counters first:1)", base + ["--"] + target, plain_env),
        ]
        return out

    programs = [
        ("loop", "tiny-kernel launch loop, 20 000 launches", "µs/launch",
         [os.path.join(bin_dir, "brrr-launch-loop"), "20000"], r"us_per_launch=([\d.]+)", args.ladder),
        ("loop-driver", "tiny-kernel launch loop through the driver's cuLaunchKernel, 20 000 launches", "µs/launch",
         [os.path.join(bin_dir, "brrr-launch-loop"), "--driver", "20000"], r"us_per_launch=([\d.]+)", args.ladder),
        ("mlp", f"PyTorch MLP training loop, {args.steps} steps", "ms/step",
         [sys.executable, os.path.join(os.path.dirname(__file__), "..", "examples", "pytorch", "mlp_train.py"),
          "--steps", str(args.steps)], r"([\d.]+) ms/step", args.ladder),
    ]
    lines = []
    chosen = args.programs.split(",")
    unknown = set(chosen) - {p[0] for p in programs}
    if unknown:
        sys.exit(f"--programs: unknown {', '.join(sorted(unknown))} (loop, loop-driver, mlp)")
    for key, title, unit, target, pattern, ladder in programs:
        if key not in chosen:
            continue
        samples, walls = {}, {}
        done_lines = list(lines)
        for _ in range(args.rounds):
            for name, command, env in configs(target, ladder):
                out, _, wall, _ = run(command, env)
                samples.setdefault(name, []).append(measure(out, pattern))
                walls.setdefault(name, []).append(wall)
            # Every finished round is written, so that a time limit loses at most one round.
            lines[:] = done_lines + table(title, unit, samples, walls)
            finish(args, lines)

    if args.no_million:
        million_lines = []
    else:
        million_lines = one_million(bin_dir, brrr, report)
    lines += million_lines
    finish(args, lines)
    with open(args.out) as f:
        print(f.read())



def table(title, unit, samples, walls):
    """The Markdown table of one program: medians per configuration, against plain and the floor,
    and the best round of each against the floor's best (the machine's noise only ever adds
    time, so the best rounds are the steadiest comparison)."""
    plain = statistics.median(samples["plain"])
    floor_median = statistics.median(samples["bare CUPTI floor"])
    floor_best = min(samples["bare CUPTI floor"])
    plain_wall = statistics.median(walls["plain"])
    # The whole run's wall time includes what the per-step figure leaves out: start-up,
    # brrr's counter samples (its tool time) and writing the report.
    lines = [f"\n### {title}\n\n| configuration | median {unit} | all rounds | vs plain | vs floor "
             f"| best {unit} | best vs floor's best | median wall s | wall vs plain |"
             f"\n|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for name, values in samples.items():
        m = statistics.median(values)
        w = statistics.median(walls[name])
        lines.append(f"| {name} | {m:.3f} | {', '.join(f'{v:.2f}' for v in values)} | "
                     f"{m / plain:.2f}× | {m / floor_median:.2f}× | {min(values):.3f} | {min(values) / floor_best:.2f}× | "
                     f"{w:.2f} | {w / plain_wall:.2f}× |")
    return lines


def one_million(bin_dir, brrr, report):
    lines = []
    # One million launches: the profiled process's peak memory against the plain run's (both
    # from the kernel's accounting at exit), brrr's own peak, and the time from the target's
    # exit to the written report.
    million = [os.path.join(bin_dir, "brrr-launch-loop"), "1000000"]
    _, _, plain_wall, plain_peak_kib = run(million)
    _, _, brrr_wall, _ = run([brrr, "profile", "-q", "--force", "-o", report, "--"] + million)
    with open(report) as f:
        data = json.load(f)
    target_wall = data["run"]["wall_ns"] / 1e9
    target_peak = data["run"]["target_peak_rss_bytes"] / 2**20
    own_peak = data["collection"]["brrr_peak_rss_bytes"] / 2**20
    launches = sum(k["launches"] for k in data["kernels"])
    lines.append("\n### 1 000 000 launches\n")
    lines.append(f"- kernel launches recorded: {launches}")
    if plain_peak_kib:
        lines.append(f"- profiled process peak RSS: {target_peak:.0f} MiB under brrr vs {plain_peak_kib / 1024:.0f} MiB plain "
                     f"(growth {target_peak - plain_peak_kib / 1024:.0f} MiB)")
    lines.append(f"- brrr's own peak RSS: {own_peak:.0f} MiB")
    lines.append(f"- report written {brrr_wall - target_wall:.2f} s after the target exited "
                 f"(brrr's wall {brrr_wall:.2f} s, the target's {target_wall:.2f} s)")
    return lines


def finish(args, lines):
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    header = (f"# Tracing overhead of brrr profile\n\n"
              f"- machine: {gpu}\n- date: {datetime.date.today().isoformat()}\n"
              f"- command: `python3 bench/trace_overhead.py --bin {args.bin} --rounds {args.rounds} --steps {args.steps}"
              f"{' --ladder' if args.ladder else ''} "
              f"--programs {args.programs}{' --no-million' if args.no_million else ''}`\n"
              f"- method: {args.rounds} alternating rounds of every configuration; medians. The floor is CUPTI "
              f"kernel activity alone (bench/floor_inject.cpp).\n")
    text = header + "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
