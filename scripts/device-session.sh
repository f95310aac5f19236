#!/usr/bin/env bash
# One call on a GPU machine (two GPUs when lent) with a carried build, within a time budget:
# every single-GPU test case on its own, the multi-GPU job (scripts/device-multigpu.sh), two
# calibrations (scripts/device-calibrate.sh), the hostile targets and the long run
# (scripts/device-reliability.sh), the counters against Nsight Compute
# (bench/counters_accuracy.py) and the tracing overhead; STEPS picks them. Each step gets what
# is left of BUDGET seconds; a step that does not fit is skipped and says so. Under $OUT: the
# log, the result pages, and one archive of everything else.
set -uo pipefail
cd "$(dirname "$0")/.." || exit
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
# STEPS picks the parts and their order (space-separated): tests, multigpu, calibrate,
# calibrate-test (its GPU test alone), reliability, counters, sessions (the range profiler's
# user-replay sessions, bench/counter_session.cu), overhead, buffers (whether CUPTI hands
# activity buffers over, bench/buffer_hold.cu, and the long run with --counters off). A session
# that needs more than one call's time limit runs the script twice, with the steps split
# between the calls.
for part in ${STEPS:-tests multigpu calibrate reliability counters overhead}; do
  case $part in
  tests)
    "$bin/brrr_gpu_tests" --list-test-cases --no-intro 2> /dev/null | grep -v "^=\|^\[doctest\]\|^$" |
      grep -v "^calibrate\|^two ranks\|^hostile" | sed "s/,/*/g" > "$work/cases.txt"
    while IFS= read -r name; do
      left=$((budget - (SECONDS - start) - 5))
      [ "$left" -lt 20 ] && { echo "== test: $name: skipped" | tee -a "$log"; continue; }
      begin=$SECONDS
      echo "== test: $name" >> "$work/gpu-tests.txt"
      timeout $((left < 45 ? left : 45)) "$bin/brrr_gpu_tests" -tc="$name" >> "$work/gpu-tests.txt" 2>&1
      echo "== test: $name: exit $? after $((SECONDS - begin)) s" | tee -a "$log"
    done < "$work/cases.txt"
    ;;
  multigpu)
    if [ "$(nvidia-smi -L | wc -l)" -ge 2 ]; then
      step multigpu 150 env OUT="$work/multigpu" ROUNDS=0 MULTIGPU_PARTS=jobs,nccl MULTIGPU_TEST_LIMIT=70 \
        MULTIGPU_RUN_LIMIT=60 MULTIGPU_NCCL_PLAIN=0 MULTIGPU_BENCH_LIMIT=120 MULTIGPU_BUDGET=142 \
        bash scripts/device-multigpu.sh
    else
      echo "== multigpu: skipped, one GPU" | tee -a "$log"
    fi
    ;;
  calibrate)
    step calibrate $((${CALIBRATE_BUDGET:-195} + 5)) env OUT="$work/calibrate" BUDGET=${CALIBRATE_BUDGET:-195} \
      bash scripts/device-calibrate.sh
    ;;
  calibrate-test)
    step calibrate-test 150 sh -c "\"$bin/brrr_gpu_tests\" -tc='calibrate*' > \"$work/gpu-test-calibrate.txt\" 2>&1"
    ;;
  reliability)
    step reliability $((${RELIABILITY_BUDGET:-145} + 5)) env OUT="$work/reliability" BUDGET=${RELIABILITY_BUDGET:-145} \
      bash scripts/device-reliability.sh
    ;;
  counters)
    step counters 220 python3 bench/counters_accuracy.py --bin "$bin" --out "$work/counters-accuracy.md"
    ;;
  sessions)
    for mode in "" --toggle; do
      step "counter-session $mode" 60 sh -c "echo '### brrr-counter-session --launches 32 $mode' >> \"$work/counter-session.md\";
        \"$bin/brrr-counter-session\" --launches 32 $mode >> \"$work/counter-session.md\" 2>&1"
    done
    ;;
  overhead)
    step overhead-loop 60 python3 bench/trace_overhead.py --bin "$bin" --programs loop --no-million --rounds 5 \
      --out "$work/trace-overhead-loop.md"
    step overhead-mlp "${MLP_LIMIT:-120}" python3 bench/trace_overhead.py --bin "$bin" --programs mlp --no-million \
      --rounds "${MLP_ROUNDS:-3}" \
      --steps 200 --out "$work/trace-overhead-mlp.md"
    ;;
  buffers)
    {
      echo "| range profiler | flush | launches | µs/launch | buffers filled | handed over in the loop |" \
        "kernel records in the loop | after the final forced flush | lost | incomplete | broken buffers |" \
        "RSS growth MiB |"
      echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    } > "$work/buffer-hold.md"
    IFS=, read -ra runs <<< "${BUFFER_RUNS:-none default,enabled default,sampled default,sampled-rearmed default,callback default,callback-once default,callback forced}"
    for run in "${runs[@]}"; do
      set -- $run
      step "buffer-hold $1 $2 ${3:-}" 60 sh -c "\"$bin/brrr-buffer-hold\" --profiler $1 --flush $2 --launches ${3:-1000000} \
        >> \"$work/buffer-hold.md\""
    done
    for counters in ${LONG_RUN_COUNTERS-off first:1}; do
      step "long-run-counters-$counters" 60 python3 bench/long_run.py --bin "$bin" --launches 1000000 \
        --brrr-args "--counters $counters" --out "$work/long-run-counters-${counters/:/-}.md"
    done
    ;;
  *) echo "== $part: no such step" | tee -a "$log" ;;
  esac
done
for f in "$work"/multigpu/multigpu-h100.md "$work"/calibrate/calibrate-h100.md "$work"/reliability/*.md \
  "$work"/gpu-tests.txt "$work"/gpu-test-calibrate.txt "$work"/counters-accuracy.md "$work"/counter-session.md "$work"/trace-overhead-*.md \
  "$work"/buffer-hold.md "$work"/long-run-*.md; do
  [ -f "$f" ] && cp "$f" "$out/"
done
tar czf "$out/session-all.tgz" -C "$work" .
