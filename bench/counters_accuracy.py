#!/usr/bin/env python3
"""Hardware counters: brrr against Nsight Compute and the analytic counts, and what each costs.

On a GPU machine with a built brrr and `ncu` on PATH. Each reference kernel of brrr-refkernels
(work known on paper) runs alone (`--only NAME`) under `brrr profile` and under `ncu
--clock-control none --cache-control none` with brrr's own metrics (those the GPU has); the
kernel compared is the one with the most FLOPs, or for the copy the most DRAM bytes, in that
run (the others fill the inputs). FLOPs from ncu's values use brrr's weights
(lib/model/counters.cpp), so the comparison is of the counters, not of two derivations. Then
the whole program runs plain, under brrr (default counters) and under ncu, for the cost per
profiled kernel. Writes Markdown to --out.

    python3 bench/counters_accuracy.py --bin build-device/bin --out bench/results/counters-accuracy-h100.md
"""

import argparse
import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time

NAMES = ["copy", "cos_cos", "fma_fp32", "fma_fp64", "gemm_bf16", "gemm_tf32", "hadd_fp16"]
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def flop_weights():
    """brrr's FLOP table, read from its source: metric -> (precision, pipe, weight)."""
    text = open(os.path.join(SOURCE, "lib", "model", "counters.cpp")).read()
    rows = re.findall(r'\{"([a-z0-9_]+\.sum)", Precision::(\w+), Pipe::(\w+), ([\d.]+)\}', text)
    return {m: (p, pipe, float(w)) for m, p, pipe, w in rows}


def metric_names():
    """brrr's metrics (lib/model/counters.cpp) that this GPU has: the table names some figures
    by several metrics, one per chip family, and ncu refuses a metric its chip lacks."""
    text = open(os.path.join(SOURCE, "lib", "model", "counters.cpp")).read()
    ours = sorted(set(re.findall(r'"([a-z0-9_]+__[a-z0-9_]+\.sum)"', text)))
    listing = subprocess.run(["ncu", "--query-metrics"], capture_output=True, text=True).stdout
    chip = {line.split()[0].strip('",') for line in listing.splitlines() if line.split()}
    have = [m for m in ours if m.rsplit(".", 1)[0] in chip]
    return have or ours


def timed(command):
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout, wall


def analytic(stdout):
    out = {}
    for line in stdout.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if isinstance(j, dict) and "name" in j:
            out[j["name"]] = j
    return out


def ncu_kernels(stdout, weights):
    """Per launch (ncu's ID): name, FLOPs by precision and DRAM bytes, from ncu's CSV (base units)."""
    start = stdout.find('"ID"')
    if start < 0:
        sys.exit(f"no CSV in ncu's output:\n{stdout[-2000:]}")
    launches = {}
    for row in csv.DictReader(io.StringIO(stdout[start:])):
        launch = launches.setdefault(row["ID"], {"name": row["Kernel Name"], "flops": {}, "dram": 0.0})
        value = float(row["Metric Value"].replace(",", "") or 0)
        metric = row["Metric Name"]
        if metric in weights:
            precision, _, weight = weights[metric]
            launch["flops"][precision] = launch["flops"].get(precision, 0.0) + weight * value
        elif metric in ("dram__bytes_read.sum", "dram__bytes_write.sum", "dram__bytes_op_read.sum",
                        "dram__bytes_op_write.sum"):
            launch["dram"] += value
    return list(launches.values())


def brrr_kernels(report):
    out = []
    for k in report["kernels"]:
        c = k.get("counters")
        if not c:
            continue
        flops = {}
        for precision, pipes in c["flops_per_launch"].items():
            flops[precision] = sum(pipes.values())
        out.append({"name": k["name"], "flops": flops,
                    "dram": c["dram_read_bytes_per_launch"] + c["dram_write_bytes_per_launch"]})
    return out


def main_kernel(kernels, precision):
    """The reference kernel among a run's kernels (the others fill its inputs): the most FLOPs in
    the precision it is known to work in, or without one (the copies) the most DRAM bytes."""
    key = (lambda k: k["flops"].get(precision, 0.0)) if precision else (lambda k: k["dram"])
    return max(kernels, key=key) if kernels else None


def pct(a, b):
    return f"{100 * (a - b) / b:+.2f}%" if b else "–"


def cost(title, program, brrr, ncu, report_path, weights, ncu_launches):
    """Markdown lines: what brrr (default counters) and ncu add to a program's wall time, per
    launch each of them profiles. ncu profiles every launch, or the first ncu_launches. An
    untimed run first, so that no timed run pays for a cold file cache (Python's imports)."""
    timed(program)
    _, plain_wall = timed(program)
    _, brrr_wall = timed([brrr, "profile", "-q", "--force", "-o", report_path, "--"] + program)
    with open(report_path) as f:
        report = json.load(f)
    measured = sum(k["counters"]["measured_launches"] for k in report["kernels"] if k.get("counters"))
    launches = sum(k["launches"] for k in report["kernels"])
    tool_s = report["collection"]["tool_ns"] / 1e9
    limit = ["--launch-count", str(ncu_launches)] if ncu_launches else []
    ncu_out, ncu_wall = timed(ncu[:1] + limit + ncu[1:] + program)
    ncu_profiled = len(ncu_kernels(ncu_out, weights))
    ncu_per = (ncu_wall - plain_wall) / max(ncu_profiled, 1)
    brrr_per = (brrr_wall - plain_wall) / max(measured, 1)
    # Every launch of a kernel group with counters gets its FLOPs and bytes, measured or taken
    # from its group's measured launches: what brrr's whole run costs per such launch, its
    # extra wall time or its tool time, whichever is larger.
    covered = sum(k["launches"] for k in report["kernels"] if k.get("counters"))
    brrr_per_covered = max(brrr_wall - plain_wall, tool_s) / max(covered, 1)
    return [
        f"## Cost per profiled kernel: {title}",
        "",
        f"- plain: {plain_wall:.2f} s wall",
        f"- brrr profile (default counters): {brrr_wall:.2f} s wall, **{brrr_wall / plain_wall:.2f}× plain**; "
        f"{measured} of {launches} launches measured, {tool_s:.2f} s of tool time "
        f"({1000 * tool_s / max(measured, 1):.1f} ms per measured launch); "
        f"**{1000 * brrr_per:.1f} ms per measured launch** (wall over plain)",
        f"- ncu{' --launch-count ' + str(ncu_launches) if ncu_launches else ''}: {ncu_wall:.2f} s wall, "
        f"{ncu_profiled} launches profiled: **{1000 * ncu_per:.1f} ms per profiled launch**",
        f"- per measured launch, brrr is {ncu_per / brrr_per:.1f}× cheaper than ncu" if brrr_per > 0 else
        "- per measured launch: brrr's wall time was not above plain's (noise)",
        f"- per launch with FLOPs and bytes in the report ({covered} launches, measured or from their kernel's "
        f"measured launches): {1000 * brrr_per_covered:.3f} ms, **{ncu_per / brrr_per_covered:.0f}× cheaper than "
        f"ncu** per profiled launch" if covered > 0 else "",
        "",
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="build-device/bin")
    parser.add_argument("--out", required=True)
    parser.add_argument("--mlp-steps", type=int, default=200,
                        help="steps of the PyTorch MLP whose cost is measured (0: not measured)")
    parser.add_argument("--ncu-launches", type=int, default=40,
                        help="launches ncu profiles in the MLP (it profiles all of the reference program's)")
    args = parser.parse_args()
    bin_dir = os.path.abspath(args.bin)
    brrr = os.path.join(bin_dir, "brrr")
    refkernels = os.path.join(bin_dir, "brrr-refkernels")
    weights = flop_weights()
    metrics = ",".join(metric_names())
    scratch = tempfile.mkdtemp(prefix="brrr-counters-")
    report_path = os.path.join(scratch, "r.json")
    # --cache-control none: ncu by default flushes and invalidates the caches around each profiled
    # kernel, and then misses the writes still in the L2 when the kernel ends (measured: cos_cos
    # wrote 248.5 MB instead of its 268.4 MB); brrr measures the program's own cache state, and
    # so does ncu with none (268.8 MB).
    ncu = ["ncu", "--clock-control", "none", "--cache-control", "none", "--csv", "--print-units", "base",
           "--metrics", metrics]

    rows = []
    for name in NAMES:
        plain_out, _ = timed([refkernels, "--only", name])
        expected = analytic(plain_out).get(name, {})
        a_flops = expected.get("analytic_flops")
        precision = expected.get("analytic_flops_precision") if isinstance(a_flops, (int, float)) and a_flops > 0 \
            else None
        timed([brrr, "profile", "-q", "--force", "-o", report_path, "--", refkernels, "--only", name])
        with open(report_path) as f:
            ours = main_kernel(brrr_kernels(json.load(f)), precision)
        ncu_out, _ = timed(ncu + [refkernels, "--only", name])
        theirs = main_kernel(ncu_kernels(ncu_out, weights), precision)
        if ours is None or theirs is None:
            rows.append(f"| {name} | – | no counters (brrr: {ours is not None}, ncu: {theirs is not None}) | | | | |")
            continue
        if precision:
            ours_p = ours["flops"].get(precision, 0.0)
            theirs_p = theirs["flops"].get(precision, 0.0)
            rows.append(f"| {name} | {precision} FLOPs | {a_flops:.4e} | {theirs_p:.4e} | {ours_p:.4e} | "
                        f"{pct(ours_p, theirs_p)} | {pct(ours_p, a_flops)} |")
        a_dram = expected.get("analytic_dram_bytes")
        # Outputs of a few MiB stay in the 50 MiB L2 and reach DRAM only partly, after the kernel
        # ends: no counter can be checked against them (bench/refkernels.cu says so).
        if isinstance(a_dram, (int, float)) and 0 < a_dram < 64e6:
            continue
        lower = " (lower bound)" if expected.get("analytic_dram_bytes_lower_bound") else ""
        a_text = f"{a_dram:.4e}{lower}" if isinstance(a_dram, (int, float)) and a_dram > 0 else "–"
        vs_analytic = pct(ours["dram"], a_dram) if a_text != "–" and not lower else "–"
        rows.append(f"| {name} | DRAM bytes | {a_text} | {theirs['dram']:.4e} | {ours['dram']:.4e} | "
                    f"{pct(ours['dram'], theirs['dram'])} | {vs_analytic} |")

    # The whole program, and a PyTorch training loop, for the cost per profiled kernel.
    costs = [cost("the whole brrr-refkernels program", [refkernels], brrr, ncu, report_path, weights, None)]
    if args.mlp_steps > 0:
        mlp = [sys.executable, os.path.join(SOURCE, "examples", "pytorch", "mlp_train.py"),
               "--steps", str(args.mlp_steps)]
        costs.append(cost(f"PyTorch MLP training loop, {args.mlp_steps} steps", mlp, brrr, ncu, report_path, weights,
                          args.ncu_launches))

    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    lines = [
        "# Hardware counters against Nsight Compute and the analytic counts",
        "",
        f"- machine: {gpu}",
        f"- date: {datetime.date.today().isoformat()}",
        f"- command: `python3 bench/counters_accuracy.py --bin {args.bin} --out FILE`",
        "- each reference kernel alone (`brrr-refkernels --only NAME`), brrr with its default counters, "
        "`ncu --clock-control none --cache-control none` with brrr's metrics that the GPU has; FLOPs from "
        "ncu's values with brrr's weights",
        "",
        "| kernel | figure | analytic | Nsight Compute | brrr | brrr vs ncu | brrr vs analytic |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        *[line for c in costs for line in c],
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
