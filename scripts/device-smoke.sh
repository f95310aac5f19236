#!/usr/bin/env bash
# On a GPU machine, with a carried build (build-device/bin): run the GPU tests, record the demo,
# a PyTorch loop and the reference kernels, and measure tracing overhead. Every log and report
# goes under $OUT (or ./out); each step has its own time limit so that one hang costs one step.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${BRRR_BIN:-build-device/bin}
out=${OUT:-out}
mkdir -p "$out"
export BRRR_SOURCE_DIR=$PWD PYTHONUNBUFFERED=1
log=$out/smoke.txt
step() { # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name" | tee -a "$log"
  local start=$SECONDS
  timeout "$limit" "$@" >> "$log" 2>&1
  echo "== $name: exit $? after $((SECONDS - start)) s" | tee -a "$log"
}
{
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__)" 2>&1
} >> "$log" 2>&1
timeout 300 "$bin/brrr_gpu_tests" ${GPU_TEST_ARGS:-} > "$out/gpu-tests.txt" 2>&1
echo "== gpu tests: exit $?" | tee -a "$log"
step demo 120 "$bin/brrr" profile --force -o "$out/demo.json" -- "$bin/brrr-demo"
step mlp 120 "$bin/brrr" profile --force -o "$out/mlp.json" -- python3 examples/pytorch/mlp_train.py --steps 50
step refkernels 120 "$bin/brrr" profile --force -o "$out/refkernels.json" -- "$bin/brrr-refkernels"
if [ -z "${SKIP_BENCH:-}" ]; then
  step bench 300 python3 bench/trace_overhead.py --bin "$bin" --rounds "${ROUNDS:-5}" --out "$out/trace-overhead.md"
fi
grep -E "^== |test cases|TEST CASE|ERROR|CHECK|MESSAGE|REQUIRE|values" "$log" "$out/gpu-tests.txt" | head -120
