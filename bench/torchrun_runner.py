"""What the multi-GPU benchmarks share: torchrun (or its module form), and running a job with a
time limit, its output kept in a log, and the JSON line each rank prints picked out by rank."""

import json
import os
import shutil
import signal
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
        self.process = None
        # The last command's standard output, for programs whose lines are not the ranks'.
        self.last_stdout = ""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)

    def _stop(self, signum, _frame):
        """A limit on the whole benchmark (timeout's SIGTERM) or an interrupt: the running job,
        in a session of its own out of reach of the signal, is killed too."""
        self._kill()
        sys.exit(128 + signum)

    def _kill(self):
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def run(self, name, command, cwd, limit_s):
        """Runs command in its own session; past limit_s kills the whole session (torchrun's
        workers too, which would otherwise keep the output open, or hang in a collective)."""
        self.log.write(f"\n== {name}\n$ (cd {cwd} && {' '.join(command)})\n")
        self.log.flush()
        start = time.monotonic()
        try:
            self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            text=True, start_new_session=True)
        except OSError as e:
            self.log.write(f"== {name}: cannot run: {e}\n")
            self.log.flush()
            print(f"== {name}: cannot run {command[0]}: {e}", flush=True)
            self.last_stdout = ""
            return "cannot run", {}
        try:
            out, err = self.process.communicate(timeout=limit_s)
            status = self.process.returncode
        except subprocess.TimeoutExpired:
            self._kill()
            out, err = self.process.communicate()
            status = "timeout"
        seconds = time.monotonic() - start
        self.last_stdout = out
        self.log.write(out + err[-6000:] + f"\n== {name}: exit {status} after {seconds:.1f} s\n")
        self.log.flush()
        print(f"== {name}: exit {status} after {seconds:.1f} s", flush=True)
        return status, ranks_of(out)
