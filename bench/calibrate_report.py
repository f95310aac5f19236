#!/usr/bin/env python3
"""Markdown for bench/results/calibrate-h100.md from two `brrr calibrate` runs.

Reads the two calibration files (hardware profiles with a `measured` section), the wall time
each `brrr calibrate` took, and optionally one report explained against measured and against
datasheet roofs; prints every ceiling with its datasheet figure, both runs, their difference
and the ratio to the datasheet, then the issue's targets with PASS or FAIL.

    python3 bench/calibrate_report.py --runs c1.json c2.json --seconds 21.3 20.8 \\
        [--measured-report m.json --datasheet-report d.json] [--command CMD] > calibrate-h100.md
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
REPEATABLE = 0.03
WHOLE_RUN_SECONDS = 60

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", nargs=2, required=True)
    parser.add_argument("--seconds", nargs=2, type=float, required=True)
    parser.add_argument("--measured-report")
    parser.add_argument("--datasheet-report")
    parser.add_argument("--command", default="scripts/device-calibrate.sh")
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
               f"Datasheet: {profiles[0]['name']}. Each ceiling is the best of its runs (docs/calibrate.md).\n")
    out.append("| ceiling | datasheet | run 1 | run 2 | difference | run 1 / datasheet | SM MHz (run 1) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
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
        out.append(f"| `{ceiling}` | {human(ceiling, sheet)} | {human(ceiling, a)} | {human(ceiling, b)} | "
                   f"{'–' if difference is None else f'{difference:.1%}'} | {ratio} | "
                   f"{first.get('sm_clock_mhz', '–')} |")
    out.append("")
    for i, run in enumerate(runs):
        out.append(f"Run {i + 1}: `brrr calibrate` took {args.seconds[i]:.1f} s wall "
                   f"({run['duration_ns'] / 1e9:.1f} s of measurements).")
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
    slowest = max(args.seconds)
    out.append(f"- whole run ≤ {WHOLE_RUN_SECONDS} s: {'PASS' if slowest <= WHOLE_RUN_SECONDS else 'FAIL'} "
               f"({slowest:.1f} s at most)")
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
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
