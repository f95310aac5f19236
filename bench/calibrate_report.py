#!/usr/bin/env python3
"""Markdown for bench/results/calibrate-h100.md from two `brrr calibrate` runs.

Reads the two calibration files (hardware profiles with a `measured` section), the wall time
each `brrr calibrate` took, optionally one report explained against measured and against
datasheet roofs, and optionally the output of the calibrate GPU test; prints every ceiling
with its datasheet figure, both runs, their difference, how each was taken from its runs and
their spread, the ratio to the datasheet and the SM clock, the GEMMs that set the tensor-core
ceilings, then the issue's targets with PASS or FAIL (the 3% between the two runs also apart
for the ceilings the GPU decides and for the host-bound ones), and the GPU test's outcome.

    python3 bench/calibrate_report.py --runs c1.json c2.json --seconds 21.3 20.8 \\
        [--measured-report m.json --datasheet-report d.json] [--command CMD] \\
        [--gpu-test out.txt --gpu-test-status 0 --gpu-test-seconds 61] > calibrate-h100.md
"""

import argparse
import datetime
import json
import sys

# The targets: (ceiling id, lowest acceptable value, what it says).
TARGETS = [
    ("dram_copy_bytes_per_s", 2.8e12, "DRAM copy ≥ 2.8 TB/s"),
    ("bf16_tensor_flops_per_s", 780e12, "BF16 tensor ≥ 780 TFLOP/s"),
    ("fp32_cuda_core_flops_per_s", 55e12, "FP32 FMA ≥ 55 TFLOP/s"),
]
# Two runs within this on every ceiling: the target, which docs/calibrate.md promises
# and the GPU test checks, the host-bound ceilings (the fast decile of their trials) included.
REPEATABLE = 0.03
# The ceilings the host's CPU decides: launches, synchronization, pageable copies.
HOST_BOUND = {"htod_pageable_bytes_per_s", "dtoh_pageable_bytes_per_s", "launch_rate_per_s", "launch_latency_ns",
              "sync_round_trip_ns"}
WHOLE_RUN_SECONDS = 60
# The demo's cuBLAS GEMM against the measured BF16 roof: at most this (the GPU test's bound;
# its counters count the work of its partial tiles, 1.6% more than the ceiling's 2mnk).
DEMO_GEMM_AT_MOST = 1.03

# The datasheet figure each ceiling is compared with: (profile key, precision, pipe).
DATASHEET = {
    "dram_read_bytes_per_s": ("dram_bytes_per_s",),
    "dram_write_bytes_per_s": ("dram_bytes_per_s",),
    "dram_copy_bytes_per_s": ("dram_bytes_per_s",),
    "l2_read_bytes_per_s": ("l2_bytes_per_s",),
    "htod_pinned_bytes_per_s": ("host_link_bytes_per_s",),
    "dtoh_pinned_bytes_per_s": ("host_link_bytes_per_s",),
}


def datasheet(profile, ceiling):
    if ceiling in DATASHEET:
        figure = profile.get(DATASHEET[ceiling][0])
        return figure["value"] if figure else None
    parts = ceiling.split("_")
    if ceiling.endswith("_flops_per_s"):
        precision, pipe = parts[0], "tensor" if parts[1] == "tensor" else "cuda_core"
        figure = profile.get("peak_flops_per_s", {}).get(precision, {}).get(pipe)
        return figure["value"] if figure else None
    return None


def human(ceiling, value):
    if value is None:
        return "–"
    if ceiling.endswith("_ns"):
        return f"{value / 1000:.2f} µs"
    unit = "B/s" if ceiling.endswith("_bytes_per_s") else "OP/s" if ceiling.startswith("int8") else \
        "FLOP/s" if ceiling.endswith("_flops_per_s") else "/s"
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def roof_fractions(path):
    report = json.load(open(path))
    return {k["name"]: (k.get("analysis") or {}) for k in report["kernels"]}


def bf16_gemms(path):
    """The demo's BF16 tensor-core kernels: (name, whole-run fraction of the compute roof, the
    fastest launch's fraction)."""
    report = json.load(open(path))
    out = []
    for k in report["kernels"]:
        a = k.get("analysis") or {}
        if a.get("pipe") != "tensor" or a.get("precision") != "bf16" or a.get("compute_roof_fraction") is None:
            continue
        whole = a["compute_roof_fraction"]
        fastest = None
        if k["duration_ns"]["min"] and k["launches"]:
            fastest = whole * (k["duration_ns"]["total"] / k["launches"]) / k["duration_ns"]["min"]
        out.append((k["name"], whole, fastest))
    return out


def spread(measurement):
    """The runs' interquartile range relative to the value, as brrr writes it (older files lack it)."""
    if "spread" in measurement:
        return measurement["spread"]
    runs = sorted(measurement["runs"])
    if len(runs) < 2:
        return 0.0

    def quantile(q):
        position = q * (len(runs) - 1)
        below = int(position)
        above = min(below + 1, len(runs) - 1)
        return runs[below] + (runs[above] - runs[below]) * (position - below)

    return (quantile(0.75) - quantile(0.25)) / measurement["value"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", nargs=2, required=True)
    parser.add_argument("--seconds", nargs=2, type=float, required=True)
    parser.add_argument("--measured-report")
    parser.add_argument("--datasheet-report")
    parser.add_argument("--command", default="scripts/device-calibrate.sh")
    parser.add_argument("--gpu-test", help="the output of brrr_gpu_tests -tc='calibrate*'")
    parser.add_argument("--gpu-test-status", type=int)
    parser.add_argument("--gpu-test-seconds", type=float)
    args = parser.parse_args()
    profiles = [json.load(open(path)) for path in args.runs]
    runs = [p["measured"] for p in profiles]
    gpu = runs[0]["gpu"]
    out = []
    out.append(f"# `brrr calibrate` on {gpu['name']}\n")
    out.append(f"Command: `{args.command}` (two runs of `brrr calibrate`), "
               f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, host {runs[0]['host']}, "
               f"{gpu['name']} ({gpu['uuid']}, {gpu['sm_count']} SMs, SM clock up to {gpu['sm_clock_mhz']} MHz), "
               f"driver {runs[0]['driver_version']}, brrr {runs[0]['tool_version']}. "
               f"Datasheet: {profiles[0]['name']}. Each ceiling is the best of its runs, or for the host-bound "
               f"ones the fast decile of their trials (the 90th percentile of a rate, the 10th of a latency); "
               f"spread is the runs' or trials' interquartile range relative to the ceiling, how steady the GPU "
               f"or the host was (docs/calibrate.md).\n")
    out.append("| ceiling | datasheet | run 1 | run 2 | difference | taken as | spread (1, 2) | run 1 / datasheet "
               "| SM MHz (1, 2) |")
    out.append("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    worst = []
    for ceiling, first in runs[0]["ceilings"].items():
        second = runs[1]["ceilings"].get(ceiling)
        sheet = datasheet(profiles[0], ceiling)
        a = first["value"]
        b = second["value"] if second else None
        difference = abs(a - b) / max(a, b) if b else None
        if difference is not None:
            worst.append((difference, ceiling))
        ratio = f"{a / sheet:.0%}" if sheet and not ceiling.endswith("_ns") else "–"
        spreads = f"{spread(first):.1%}, {spread(second):.1%}" if second else f"{spread(first):.1%}"
        clocks = f"{first.get('sm_clock_mhz', '–')}, {second.get('sm_clock_mhz', '–') if second else '–'}"
        out.append(f"| `{ceiling}` | {human(ceiling, sheet)} | {human(ceiling, a)} | {human(ceiling, b)} | "
                   f"{'–' if difference is None else f'{difference:.1%}'} | {first.get('statistic', 'best')} | "
                   f"{spreads} | {ratio} | {clocks} |")
    out.append("")
    for i, run in enumerate(runs):
        out.append(f"Run {i + 1}: `brrr calibrate` took {args.seconds[i]:.1f} s wall "
                   f"({run['duration_ns'] / 1e9:.1f} s of measurements).")
    out.append("")
    for ceiling, first in runs[0]["ceilings"].items():
        setups = [r["ceilings"].get(ceiling, {}).get("setup") for r in runs]
        if setups[0] and setups[0] == setups[1]:
            out.append(f"- `{ceiling}`, both runs: {setups[0]}")
        elif any(setups):
            out.append(f"- `{ceiling}`: run 1 {setups[0] or '–'}; run 2 {setups[1] or '–'}")
    for i, run in enumerate(runs):
        for reason in run["skipped"].items():
            out.append(f"- run {i + 1} skipped `{reason[0]}`: {reason[1]}")
        for warning in run["warnings"]:
            out.append(f"- run {i + 1} warning: {warning}")
    out.append("\n## Targets\n")
    for ceiling, lowest, what in TARGETS:
        values = [r["ceilings"].get(ceiling, {}).get("value") for r in runs]
        ok = all(v is not None and v >= lowest for v in values)
        out.append(f"- {what}: {'PASS' if ok else 'FAIL'} ({', '.join(human(ceiling, v) for v in values)})")
    worst.sort(reverse=True)
    over = [f"`{c}` {d:.1%}" for d, c in worst if d > REPEATABLE]
    out.append(f"- two runs within {REPEATABLE:.0%} on every ceiling: {'PASS' if not over else 'FAIL'}"
               f" (largest: {', '.join(f'`{c}` {d:.1%}' for d, c in worst[:3])}"
               f"{'; over: ' + ', '.join(over) if over else ''})")
    for what, side in (("ceilings the GPU decides", [(d, c) for d, c in worst if c not in HOST_BOUND]),
                       ("host-bound ceilings (fast decile)", [(d, c) for d, c in worst if c in HOST_BOUND])):
        if side:
            ok = all(d <= REPEATABLE for d, _ in side)
            shown = ", ".join(f"`{c}` {d:.1%}" for d, c in side[:5])
            out.append(f"  - {what}, within {REPEATABLE:.0%}: {'PASS' if ok else 'FAIL'} (largest: {shown})")
    slowest = max(args.seconds)
    out.append(f"- whole run ≤ {WHOLE_RUN_SECONDS} s: {'PASS' if slowest <= WHOLE_RUN_SECONDS else 'FAIL'} "
               f"({slowest:.1f} s at most)")
    if args.measured_report:
        gemms = bf16_gemms(args.measured_report)
        if gemms:
            ok = all(whole <= DEMO_GEMM_AT_MOST for _, whole, _ in gemms)
            shown = "; ".join(f"`{name[:60]}` {whole:.0%} over the run"
                              f"{f', its fastest launch {fastest:.0%}' if fastest else ''}"
                              for name, whole, fastest in gemms)
            out.append(f"- the demo's cuBLAS BF16 GEMM at most {DEMO_GEMM_AT_MOST:.0%} of the measured BF16 roof "
                       f"(the calibration's GEMM is the ceiling): {'PASS' if ok else 'FAIL'} ({shown})")
    if args.measured_report and args.datasheet_report:
        measured = roof_fractions(args.measured_report)
        sheet = roof_fractions(args.datasheet_report)
        out.append("\n## The demo against both roofs\n")
        out.append("`brrr profile -- brrr-demo --phases unfused,fused,gemm`, found the calibration by itself; "
                   "`brrr explain --ceilings datasheet` on the same report.\n")
        out.append("| kernel | class (datasheet) | % of roof (datasheet) | class (measured) | % of roof (measured) |")
        out.append("|---|---|---:|---|---:|")
        for name, m in measured.items():
            d = sheet.get(name, {})
            out.append(f"| `{name[:60]}` | {d.get('bound', '–')} | {d.get('roof_fraction', 0):.0%} | "
                       f"{m.get('bound', '–')} | {m.get('roof_fraction', 0):.0%} |")
    if args.gpu_test:
        text = open(args.gpu_test, errors="replace").read()
        out.append("\n## GPU test\n")
        out.append(f"`brrr_gpu_tests -tc='calibrate*'` (two more calibrations, then the demo's GEMM): exit "
                   f"{args.gpu_test_status} after {args.gpu_test_seconds:.0f} s.\n")
        kept = [line.strip() for line in text.splitlines()
                if "apart; spreads" in line or "the demo's bf16 GEMM" in line or "ERROR" in line
                or line.startswith("[doctest] test cases") or line.startswith("[doctest] assertions")]
        out.append("```")
        out.extend(kept[:80])
        out.append("```")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
