#!/usr/bin/env bash
# On a GPU machine with a carried build: the GPU tests (the hostile targets among them), the
# recorded example reports (for examples/reports/), a 10-million-launch run's memory, the
# tracing-overhead benchmark and Nsight Compute's counters for the reference kernels, in one
# call. Files go under $OUT; the log holds the benchmark and ncu output.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${BRRR_BIN:-build-device/bin}
out=${OUT:-out}
mkdir -p "$out"
export BRRR_SOURCE_DIR=$PWD PYTHONUNBUFFERED=1
log=$out/final.txt
step() { # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name" >> "$log"
  local start=$SECONDS
  timeout "$limit" "$@" >> "$log" 2>&1
  echo "== $name: exit $? after $((SECONDS - start)) s" | tee -a "$log"
}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader >> "$log"
timeout 520 "$bin/brrr_gpu_tests" > "$out/gpu-tests.txt" 2>&1
echo "== gpu tests: exit $?" | tee -a "$log"
record() { # record NAME COMMAND...
  local name=$1
  shift
  step "$name" 150 "$bin/brrr" profile --force -o "$out/$name-h100.json" -- "$@"
}
record demo "$bin/brrr-demo"
record demo-sgemm "$bin/brrr-demo" --phases sgemm
record mlp-eager python3 examples/pytorch/mlp_train.py --steps 200
record mlp-compiled python3 examples/pytorch/mlp_train.py --steps 200 --compile
record cos-eager python3 examples/pytorch/cos_cos.py
record cos-compiled python3 examples/pytorch/cos_cos.py --compile
record gpt-block python3 examples/pytorch/gpt_block.py
step long-run 300 python3 bench/long_run.py --bin "$bin" --out "$out/long-run.md"
step bench 240 python3 bench/trace_overhead.py --bin "$bin" --rounds 3 --out /tmp/trace-overhead.md
cat /tmp/trace-overhead.md >> "$log"
metrics=$(python3 -c "
import re
src=open('lib/model/counters.cpp').read()
names=set(re.findall(r'\"([a-z0-9_]+__[a-z0-9_]+\.sum)\"', src))
# Those the H100 lacks (its range profiler said so); ncu refuses unknown metrics.
lacking={'fp16_dst_fp16','fp16_dst_fp32','fp8_dst_fp16','fp8_dst_fp32','int8_dst_int32','int4_dst_int32','bf16_dst_bf16'}
print(','.join(sorted(n for n in names if not any(l in n for l in lacking))))")
step ncu 200 ncu --clock-control none --csv --metrics "$metrics" "$bin/brrr-refkernels"
step metric-names 60 sh -c "ncu --query-metrics --chip gh100 | grep -E \"ops_path_tensor|inst_executed_pipe_tensor\""
tail -n 5 "$out/gpu-tests.txt"
