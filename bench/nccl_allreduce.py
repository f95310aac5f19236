#!/usr/bin/env python3
"""NCCL all-reduce time, nccl-tests style, against the NCCL kernel time in brrr's rank reports.

Two roles in one file:

- the worker (run by torchrun, RANK set): for each size, --warmup all-reduces of float32, then
  the timed all-reduces in each of three modes (--modes), each mode after a barrier and inside
  an NVTX range "all-reduce <N> MiB <mode>" that brrr reports on its own:
    per-op: --iters all-reduces, each between its own two CUDA events (start recorded just
        before the call, end just after). From Python the host cannot keep up with small
        all-reduces, so the GPU waits for it between and inside the pairs: honest per
        operation, but not what nccl-tests measures;
    loop: --iters all-reduces back to back between one pair of events, nccl-tests' default
        timing (its loop is C, so the GPU sets the pace there; from Python only at larger sizes);
    graph: the --iters all-reduces captured in one CUDA graph (torch.cuda.graph; NCCL supports
        capture), replayed --graph-replays times between one pair of events after one untimed
        replay: nccl-tests' -G mode, where the GPU sets the pace at every size.
  Each rank prints a JSON line after each size (the last one holds every size done): per size
  and mode, the events' time per all-reduce, their span from the first start to the last end
  per all-reduce, and the algorithm and bus bandwidths as nccl-tests defines them
  (algbw = bytes / time, busbw = algbw × 2(n−1)/n for an all-reduce of n ranks).
- the driver (no RANK): runs the worker under
  `torchrun --nproc-per-node N --no-python brrr profile --counters off -- python3 this.py`,
  reads each rank's report, and sets the events' time per all-reduce against brrr's: the
  `communication` part of each range's attribution (the NCCL kernels' time in it), divided by
  the range's all-reduces; and the range's whole decomposition (NCCL kernels and GPU idle by
  cause, per all-reduce) against the events' span. Optionally a plain run (no brrr) first, for
  what tracing does to the all-reduce itself. Writes Markdown.

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
DEFAULT_SIZES = "1:200,16:100,64:50,256:20"
MODES = ("per-op", "loop", "graph")
# The modes that time as nccl-tests does: one pair of events around back-to-back all-reduces.
NCCL_TESTS_MODES = ("loop", "graph")
# The mode issue 9's bound is judged on: nccl-tests -G, which no host can slow down.
BOUND_MODE = "graph"
# Issue 9's bound: brrr's NCCL kernel time within 10% of nccl-tests-style timing.
BOUND_FRACTION = 0.10
IDLE_CAUSES = ("startup", "launch", "sync", "copy", "host", "teardown")


def parse_sizes(text):
    """"1:200,64:50" → [(1, 200), (64, 50)] (MiB, iterations)."""
    out = []
    try:
        for item in text.split(","):
            mib, _, iters = item.partition(":")
            out.append((int(mib), int(iters or 50)))
    except ValueError:
        sys.exit(f"nccl_allreduce.py: --sizes takes MiB:iterations pairs (e.g. {DEFAULT_SIZES}), not {text!r}")
    if not out or any(m < 1 or i < 1 for m, i in out):
        sys.exit("nccl_allreduce.py: --sizes takes MiB:iterations pairs, both positive")
    return out


def parse_modes(text):
    modes = [m for m in text.split(",") if m]
    if not modes or any(m not in MODES for m in modes):
        sys.exit(f"nccl_allreduce.py: --modes takes some of {','.join(MODES)}, not {text!r}")
    return modes


def range_name(mib, mode):
    return f"all-reduce {mib} MiB {mode}"


def worker(args):
    import torch
    import torch.distributed as dist

    modes = parse_modes(args.modes)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    rank, world = dist.get_rank(), dist.get_world_size()

    def event():
        return torch.cuda.Event(enable_timing=True)

    def timed(name, body):
        """Runs body() inside the NVTX range name, after a barrier that lines the ranks up with
        nothing left on the GPU, and waits for its work before the range closes."""
        dist.barrier()
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_push(name)
        result = body()
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_pop()
        return result

    def per_op(buffer, iters, name):
        starts = [event() for _ in range(iters)]
        ends = [event() for _ in range(iters)]

        def body():
            for start, end in zip(starts, ends):
                start.record()
                dist.all_reduce(buffer)
                end.record()

        timed(name, body)
        each_us = [s.elapsed_time(e) * 1e3 for s, e in zip(starts, ends)]
        return {"ops": iters, "event_us": statistics.fmean(each_us), "event_us_median": statistics.median(each_us),
                "span_us": starts[0].elapsed_time(ends[-1]) * 1e3 / iters}

    def one_pair(name, ops, launch):
        """launch() between one pair of events: the time per all-reduce of its ops."""
        start, end = event(), event()

        def body():
            start.record()
            launch()
            end.record()

        timed(name, body)
        us = start.elapsed_time(end) * 1e3 / ops
        return {"ops": ops, "event_us": us, "span_us": us}

    def loop(buffer, iters, name):
        def launch():
            for _ in range(iters):
                dist.all_reduce(buffer)

        return one_pair(name, iters, launch)

    def graph(buffer, iters, name):
        captured = torch.cuda.CUDAGraph()
        captured_ok = True
        try:
            # thread_local: only this thread's calls may not break the capture, so that NCCL's
            # and PyTorch's own threads (and brrr's) go on as they do outside it.
            with torch.cuda.graph(captured, capture_error_mode="thread_local"):
                for _ in range(iters):
                    dist.all_reduce(buffer)
        except RuntimeError as e:
            print(f"nccl_allreduce.py: rank {rank}: capturing {iters} all-reduces in a CUDA graph failed: {e}",
                  file=sys.stderr, flush=True)
            captured_ok = False
        # Both ranks replay, or neither: a replay that one rank skips would leave the other's
        # NCCL kernels waiting for it.
        agreed = torch.tensor([1 if captured_ok else 0], device="cuda", dtype=torch.int32)
        dist.all_reduce(agreed, op=dist.ReduceOp.MIN)
        if agreed.item() == 0:
            return {"error": "capture failed on a rank (see the log)"}
        captured.replay()  # the first replay uploads the graph: untimed

        def replays():
            for _ in range(args.graph_replays):
                captured.replay()

        result = one_pair(name, iters * args.graph_replays, replays)
        result["graph_replays"] = args.graph_replays
        return result

    timers = {"per-op": per_op, "loop": loop, "graph": graph}
    results = []
    for mib, iters in parse_sizes(args.sizes):
        buffer = torch.zeros(mib * 2**20 // 4, device="cuda", dtype=torch.float32)
        size = buffer.numel() * buffer.element_size()
        for _ in range(args.warmup):
            dist.all_reduce(buffer)
        torch.cuda.synchronize()
        for mode in modes:
            r = {"mib": mib, "bytes": size, "mode": mode, "iters": iters, "range": range_name(mib, mode)}
            r.update(timers[mode](buffer, iters, r["range"]))
            if "event_us" in r:
                algbw = size / (r["event_us"] * 1e-6) / 1e9
                r.update(algbw_gb_s=algbw, busbw_gb_s=algbw * 2 * (world - 1) / world)
            results.append(r)
        del buffer
        print(json.dumps({"rank": rank, "world_size": world, "results": results}), flush=True)
    dist.destroy_process_group()


def range_figures(report, name, ops):
    """brrr's decomposition of one timed range, per all-reduce in µs: the NCCL kernels (the
    `communication` parts of its attribution), the GPU idle by cause, anything else (other
    kernels, copies), and the whole range."""
    found = [r for r in report["ranges"] if r["name"] == name]
    if not found:
        return None
    r = found[0]
    parts = r["attribution"]["parts_ns"]
    communication = parts.get("communication", 0) + parts.get("communication.wait", 0)
    idle = {cause: r["idle_ns"].get(cause, 0) for cause in IDLE_CAUSES}
    idle_ns = sum(idle.values())
    per_op = 1e3 * ops
    return {"kernel_us": communication / per_op, "idle_us": idle_ns / per_op,
            "idle_causes_us": {c: ns / per_op for c, ns in idle.items() if ns},
            "other_us": (r["total_ns"] - communication - idle_ns) / per_op, "range_us": r["total_ns"] / per_op}


def size_median_us(report, mib, device=None):
    """The median launch of the NCCL kernel group (on device, where given) that ran in this
    size's ranges (every mode) and in no other size's, in µs: the all-reduce's time without
    waiting for a peer or the host."""
    own = f"all-reduce {mib} MiB "
    kernels = report["kernels"]
    groups = set()
    for r in report["ranges"]:
        if r["name"].startswith(own):
            groups |= {k["index"] for k in r["kernels_ns"] if kernels[k["index"]]["analysis"]["bound"] ==
                       "communication" and device in (None, kernels[k["index"]]["device"])}
    if len(groups) != 1:
        return None
    index = groups.pop()
    if any(r["name"].startswith("all-reduce ") and not r["name"].startswith(own) and
           any(k["index"] == index for k in r["kernels_ns"]) for r in report["ranges"]):
        return None
    return kernels[index]["duration_ns"]["median"] / 1e3


def graph_launches(report):
    """The NCCL kernels brrr saw launched from CUDA graphs (each graph node's every replay)."""
    return sum(k.get("graph_launches", 0) for k in report["kernels"] if k["analysis"]["bound"] == "communication")


def fmt(value, spec=".1f", suffix=""):
    return "–" if value is None else f"{value:{spec}}{suffix}"


def verdict_line(mode, measured, ok, unit, suffix=""):
    """One mode's verdict as a Markdown item: whether every (delta, size, rank or GPU) in measured
    is within the bound (ok), and the furthest delta."""
    worst = max((x for x in measured if x[0] is not None), key=lambda x: abs(x[0]), default=None)
    return (f"- {mode}: brrr's NCCL kernel time within {BOUND_FRACTION:.0%} of the events' for every size and {unit}: "
            f"{'yes' if ok else 'no'}"
            + (f" (furthest: {worst[0] * 100:+.1f}% at {worst[1]} MiB, {unit} {worst[2]})" if worst else "")
            + suffix + ".")


def measure(runner, brrr, nproc, sizes, reports, limit_s, plain=True, warmup=5, modes=",".join(MODES),
            graph_replays=3):
    """Runs the benchmark (plain, then under brrr) and returns its Markdown lines and whether
    issue 9's bound is met (BOUND_MODE, every size and rank)."""
    script = os.path.abspath(__file__)
    worker_args = ["--sizes", sizes, "--warmup", str(warmup), "--modes", modes, "--graph-replays", str(graph_replays)]
    nproc_args = ["--nproc-per-node", str(nproc)]
    plain_ranks = {}
    if plain:
        _, plain_ranks = runner.run("all-reduce sizes, plain", launcher() + nproc_args + [script] + worker_args,
                                    reports, limit_s)
    folder = os.path.join(reports, "nccl-allreduce")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    traced_status, traced = runner.run(
        "all-reduce sizes under brrr",
        launcher() + nproc_args + ["--no-python", brrr, "profile", "--counters", "off", "--", sys.executable, script] +
        worker_args, folder, limit_s)
    lines = [
        f"Each size: {warmup} warm-up all-reduces of float32, then each mode after a barrier, inside an NVTX range of "
        f"its own; under `torchrun --nproc-per-node {nproc} --no-python brrr profile --counters off`. Modes: "
        "**per-op**, each all-reduce between its own two CUDA events (eager PyTorch: the GPU waits for the host "
        "inside and between the pairs at small sizes; honest per operation, not nccl-tests' timing); **loop**, the "
        "all-reduces back to back between one pair of events (nccl-tests' default timing, but its loop is C: from "
        "Python the host still sets the pace at small sizes); **graph**, the all-reduces captured in one CUDA graph "
        f"and replayed {graph_replays}× between one pair of events after an untimed replay (nccl-tests -G: the GPU "
        "sets the pace at every size). brrr: the `communication` part of the range's attribution (its NCCL kernels' "
        "time) per all-reduce. busbw = algbw × 2(n−1)/n from the events.",
        "",
        "| size | mode | rank | all-reduces | events µs/op | events median µs/op | brrr NCCL kernels µs/op | "
        "brrr vs events | busbw GB/s | NCCL kernel median µs (the size) | plain events µs/op |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    decomposition = [
        "Where the events' time went, by brrr: each range per all-reduce, its NCCL kernels and the GPU idle inside it "
        "by cause (docs/rules.md), against the events' span (first start to last end, per all-reduce; for loop and "
        "graph the events' time itself). The range runs from the NVTX push to its pop after a synchronize, a few µs "
        "longer than the span.",
        "",
        "| size | mode | rank | events span µs/op | brrr NCCL kernels µs/op | brrr GPU idle µs/op | "
        "idle by cause µs/op | brrr other µs/op | brrr range µs/op | range vs span |",
        "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    deltas = {mode: [] for mode in MODES}  # (|delta| or None, size, rank) per mode
    graph_lines = []
    for rank in sorted(traced):
        found = glob.glob(os.path.join(folder, f"brrr-*-rank{rank}.json"))
        report = json.load(open(found[0], encoding="utf-8")) if found else None
        plain_results = {(r["mib"], r["mode"]): r for r in plain_ranks.get(rank, {}).get("results", [])}
        replayed = 0
        for s in traced[rank]["results"]:
            if "error" in s:
                lines.append(f"| {s['mib']} MiB | {s['mode']} | {rank} | – | {s['error']} | – | – | – | – | – | – |")
                deltas[s["mode"]].append((None, s["mib"], rank))
                continue
            if s["mode"] == "graph":
                replayed += s["ops"] + s["iters"]  # the timed replays and the untimed first one
            b = range_figures(report, s["range"], s["ops"]) if report else None
            delta = (b["kernel_us"] - s["event_us"]) / s["event_us"] if b else None
            deltas[s["mode"]].append((delta, s["mib"], rank))
            p = plain_results.get((s["mib"], s["mode"]))
            lines.append(
                f"| {s['mib']} MiB | {s['mode']} | {rank} | {s['ops']} | {s['event_us']:.1f} | "
                f"{fmt(s.get('event_us_median'))} | {fmt(b and b['kernel_us'])} | "
                f"{fmt(None if delta is None else delta * 100, '+.1f', '%')} | {s['busbw_gb_s']:.1f} | "
                f"{fmt(size_median_us(report, s['mib']) if report else None)} | "
                f"{fmt(p and p.get('event_us'))} |")
            if b:
                largest_first = sorted(b["idle_causes_us"].items(), key=lambda item: -item[1])
                causes = ", ".join(f"{cause} {us:.1f}" for cause, us in largest_first)
                decomposition.append(
                    f"| {s['mib']} MiB | {s['mode']} | {rank} | {s['span_us']:.1f} | {b['kernel_us']:.1f} | "
                    f"{b['idle_us']:.1f} | {causes or '–'} | {b['other_us']:.1f} | {b['range_us']:.1f} | "
                    f"{(b['range_us'] - s['span_us']) / s['span_us'] * 100:+.1f}% |")
        if report and replayed:
            graph_lines.append(f"- rank {rank}: brrr counted {graph_launches(report)} NCCL kernels launched from CUDA "
                               f"graphs; the worker replayed {replayed} all-reduces from its graphs (one kernel each "
                               "expected: CUPTI reports each graph node's kernel on its own, as brrr does not enable "
                               "CUPTI's GRAPH_TRACE, which would fold a replay into one record).")
    if not traced:
        lines.append("| – | – | – | – | – | – | – | – | – | – | – |")
    lines += [""] + decomposition + [""] + graph_lines + ([""] if graph_lines else [])
    verdicts = {}
    for mode in MODES:
        measured = deltas[mode]
        if not measured:
            continue
        verdicts[mode] = bool(traced) and traced_status == 0 and all(
            d is not None and abs(d) <= BOUND_FRACTION for d, _, _ in measured)
        lines.append(verdict_line(mode, measured, verdicts[mode], "rank",
                                  "" if mode in NCCL_TESTS_MODES else "; per operation, not nccl-tests' timing"))
    met = verdicts.get(BOUND_MODE, False)
    lines += ["", f"Issue 9's bound, judged on the {BOUND_MODE} mode (nccl-tests -G timing, which the host cannot slow "
              f"down): brrr's NCCL kernel time within {BOUND_FRACTION:.0%} of the events' time per all-reduce, every "
              f"size and rank: **{'met' if met else 'not met'}**.", ""]
    return lines, met


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"MiB:iterations pairs (default {DEFAULT_SIZES})")
    parser.add_argument("--modes", default=",".join(MODES), help=f"timings, comma-separated (default "
                        f"{','.join(MODES)})")
    parser.add_argument("--graph-replays", type=int, default=3,
                        help="graph: timed replays of the captured all-reduces (default 3)")
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
    parse_modes(args.modes)
    if args.graph_replays < 1 or args.warmup < 0:
        sys.exit("nccl_allreduce.py: --graph-replays must be positive, --warmup not negative")
    if "RANK" in os.environ:
        worker(args)
        return
    if not (args.out and args.reports and args.log):
        sys.exit("nccl_allreduce.py: outside torchrun it drives the benchmark: give --out, --reports and --log")
    brrr = os.path.abspath(os.path.join(args.bin, "brrr"))
    if not os.access(brrr, os.X_OK):
        sys.exit(f"nccl_allreduce.py: no brrr at {brrr} (--bin)")
    os.makedirs(args.reports, exist_ok=True)
    lines, met = measure(Runner(args.log), brrr, args.nproc, args.sizes, os.path.abspath(args.reports), args.limit,
                         not args.no_plain, args.warmup, args.modes, args.graph_replays)
    finish(args.out, "NCCL all-reduce: CUDA events against brrr's kernel time", lines, met, f"{args.nproc} ranks")


def finish(out, title, lines, met, note=None):
    """A standalone driver's end: the page under its dated title written to out and printed,
    and exit 0 when issue 9's bound is met, 1 when not."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = [f"## {title} ({note + ', ' if note else ''}{now})", ""] + lines
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(page))
    print("\n".join(page))
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
