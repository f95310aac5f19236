"""What the multi-GPU benchmarks share: torchrun (or its module form), and running a job with a
time limit, its output kept in a log, and the JSON line each rank prints picked out by rank."""

import json
import shutil
import subprocess
import sys
import time


def launcher():
    """torchrun, or `python3 -m torch.distributed.run` where it is not on the PATH."""
    torchrun = shutil.which("torchrun")
    return [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]


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
