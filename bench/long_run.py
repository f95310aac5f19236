#!/usr/bin/env python3
"""Memory of a long run under brrr, on a GPU machine with a built brrr (its tests included).

Runs `brrr-test-target long-loop N` (N launches of a tiny kernel, 10 000 000 by default) plain
and under `brrr profile`, and records what must stay bounded however long a program runs: the
target's resident memory after each tenth of its launches, plain and traced, and its growth from
the second tenth to the end. Also what grows with the run by design: the record streams on disk
(their largest size while the target ran) and brrr's own peak memory while it builds the report.
Writes Markdown to --out (bench/results/reliability.md takes it).

    python3 bench/long_run.py --bin build-device/bin --out /tmp/long-run.md
"""

import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def folder_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass  # a stream removed while walking
    return total


def run_loop(command, env, streams=None):
    """Runs the long loop; returns (its resident MiB after each tenth, wall s, largest streams bytes)."""
    largest = [0]
    done = threading.Event()

    def watch():
        while not done.wait(0.5):
            largest[0] = max(largest[0], folder_bytes(streams))

    watcher = threading.Thread(target=watch) if streams else None
    if watcher:
        watcher.start()
    start = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    done.set()
    if watcher:
        watcher.join()
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["rss_mib"], wall, largest[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default="build/bin", help="the build's bin folder")
    parser.add_argument("--launches", type=int, default=10_000_000)
    parser.add_argument("--out", required=True, help="Markdown file to write")
    parser.add_argument("--brrr-args", default="", help="options for brrr profile, e.g. '--counters off'")
    args = parser.parse_args()
    target = [os.path.join(args.bin, "brrr-test-target"), "long-loop", str(args.launches)]

    plain_rss, plain_wall, _ = run_loop(target, dict(os.environ))
    with tempfile.TemporaryDirectory() as scratch:
        streams = os.path.join(scratch, "streams")
        os.mkdir(streams)
        report = os.path.join(scratch, "long-run.json")
        env = dict(os.environ, TMPDIR=streams)
        traced_rss, traced_wall, stream_bytes = run_loop(
            [os.path.join(args.bin, "brrr"), "profile", "-q", "-o", report] + args.brrr_args.split() + ["--"] + target, env, streams)
        with open(report) as f:
            r = json.load(f)
    kernels = sum(k["launches"] for k in r["kernels"] if "tiny_kernel(" in k["name"])
    gpu = r["gpus"][0]["name"] if r["gpus"] else "no GPU"
    mib = 1 << 20

    def growth(rss):
        return rss[-1] - rss[1]

    lines = [
        f"## Memory of a {args.launches:,}-launch run",
        "",
        f"`python3 bench/long_run.py --bin {args.bin} --launches {args.launches}"
        + (f" --brrr-args '{args.brrr_args}'" if args.brrr_args else "")
        + f"` on {socket.gethostname()} "
        f"({gpu}), {datetime.date.today().isoformat()}.",
        "",
        "| | plain | under brrr |",
        "|---|---|---|",
        "| target's resident memory after each tenth (MiB) | "
        f"{', '.join(f'{v:.0f}' for v in plain_rss)} | {', '.join(f'{v:.0f}' for v in traced_rss)} |",
        f"| growth from the second tenth to the end (MiB) | {growth(plain_rss):.1f} | {growth(traced_rss):.1f} |",
        f"| wall time (s) | {plain_wall:.1f} | {traced_wall:.1f} |",
        "",
        f"- Launches in the report: {kernels:,} (dropped records: {r['collection']['dropped_records']}).",
        f"- Record streams on disk, at their largest: {stream_bytes / mib:.0f} MiB "
        f"({stream_bytes / max(args.launches, 1):.0f} bytes per launch).",
        f"- brrr's peak memory while building the report: {r['collection']['brrr_peak_rss_bytes'] / mib:.0f} MiB.",
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
