#!/usr/bin/env bash
# One call on a GPU machine (two GPUs when lent) with a carried build, within a time budget:
# the multi-GPU job (scripts/device-multigpu.sh), two calibrations (scripts/device-calibrate.sh),
# every single-GPU test case on its own, then the tracing overhead. Each step gets what is left
# of BUDGET seconds; a step that does not fit is skipped and says so. Under $OUT: the log, the
# result pages, and one archive of everything else.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${BRRR_BIN:-build-device/bin}
out=${OUT:-out}
mkdir -p "$out"
work=$(mktemp -d)
log=$out/session-log.txt
export BRRR_SOURCE_DIR=$PWD PYTHONUNBUFFERED=1
start=$SECONDS
budget=${BUDGET:-380}
step() { # step NAME LIMIT COMMAND...
  local name=$1 limit=$2 left=$((budget - (SECONDS - start) - 5))
  shift 2
  if [ "$left" -lt 20 ]; then
    echo "== $name: skipped, $left s left" | tee -a "$log"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local begin=$SECONDS
  timeout "$limit" "$@" >> "$log" 2>&1
  echo "== $name: exit $? after $((SECONDS - begin)) s (limit $limit s)" | tee -a "$log"
}
nvidia-smi -L >> "$log"
if [ "$(nvidia-smi -L | wc -l)" -ge 2 ]; then
  step multigpu 175 env OUT="$work/multigpu" ROUNDS=1 MULTIGPU_TEST_LIMIT=60 MULTIGPU_BENCH_LIMIT=110 \
    MULTIGPU_RUN_LIMIT=40 bash scripts/device-multigpu.sh
fi
step calibrate 100 env OUT="$work/calibrate" CALIBRATE_GPU_TEST=0 bash scripts/device-calibrate.sh
"$bin/brrr_gpu_tests" --list-test-cases --no-intro 2> /dev/null | grep -v "^=\|^\[doctest\]\|^$" |
  grep -v "^calibrate\|^two ranks" | sed "s/,/*/g" > "$work/cases.txt"
while IFS= read -r name; do
  left=$((budget - (SECONDS - start) - 5))
  [ "$left" -lt 20 ] && { echo "== test: $name: skipped" | tee -a "$log"; continue; }
  begin=$SECONDS
  echo "== test: $name" >> "$work/gpu-tests.txt"
  timeout $((left < 45 ? left : 45)) "$bin/brrr_gpu_tests" -tc="$name" >> "$work/gpu-tests.txt" 2>&1
  echo "== test: $name: exit $? after $((SECONDS - begin)) s" | tee -a "$log"
done < "$work/cases.txt"
step overhead 90 python3 bench/trace_overhead.py --bin "$bin" --no-million --rounds 2 --steps 100 \
  --out "$work/trace-overhead.md"
for f in "$work/multigpu/multigpu-h100.md" "$work/calibrate/calibrate-h100.md" "$work/gpu-tests.txt" \
  "$work/trace-overhead.md"; do
  [ -f "$f" ] && cp "$f" "$out/"
done
tar czf "$out/session-all.tgz" -C "$work" .
