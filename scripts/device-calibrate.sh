#!/usr/bin/env bash
# On a GPU machine with a carried build, within BUDGET seconds (default 240): `brrr calibrate`
# twice; the first run goes to the per-user folder (here $OUT/xdg), so that `brrr profile` of
# the demo then finds it by itself, and the report is explained against both roofs; then the
# GPU test of calibrate (two more calibrations and the demo's GEMM, about 75 s). The
# figures, their repeatability, the issue's targets and the GPU test's outcome go to
# $OUT/calibrate-h100.md, for bench/results/. Every file goes under $OUT: the tables, the
# logs, both calibrations, the demo's report, the GPU test's output.
#
#   BUDGET=240 OUT=out bash scripts/device-calibrate.sh
#
# A step that no longer fits in what is left of the budget is skipped and says so;
# CALIBRATE_GPU_TEST=0 leaves the GPU test out.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
bin=${BRRR_BIN:-build-device/bin}
out=$(realpath -m "${OUT:-out}")
mkdir -p "$out"
export XDG_DATA_HOME="$out/xdg" BRRR_SOURCE_DIR=$PWD
log=$out/calibrate-log.txt
: > "$log"
start=$SECONDS
budget=${BUDGET:-240}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,mig.mode.current \
  --format=csv >> "$log" 2>&1
nvidia-smi topo -m >> "$log" 2>&1
lscpu >> "$log" 2>&1

# limit NEEDED MAX: the seconds a step may take, MAX or what is left of the budget (less 5
# for the report); empty when fewer than NEEDED are left.
limit() {
  local left=$((budget - (SECONDS - start) - 5))
  if [ "$left" -lt "$1" ]; then echo ""; elif [ "$left" -lt "$2" ]; then echo "$left"; else echo "$2"; fi
}

seconds=()
for run in 1 2; do
  args=()
  [ "$run" = 2 ] && args=(-o "$out/calibration-2.json")
  t=$(limit 45 90)
  if [ -z "$t" ]; then
    echo "== calibrate run $run: skipped, out of budget" | tee -a "$log"
    continue
  fi
  begin=$(date +%s%N)
  timeout "$t" "$bin/brrr" calibrate "${args[@]}" > "$out/calibrate-$run.txt" 2> "$out/calibrate-$run.err"
  status=$?
  seconds+=("$(python3 -c "print(($(date +%s%N) - $begin) / 1e9)")")
  echo "== calibrate run $run: exit $status after ${seconds[-1]} s (limit $t s)" | tee -a "$log"
  cat "$out/calibrate-$run.txt" "$out/calibrate-$run.err" >> "$log"
done
for first in "$XDG_DATA_HOME"/brrr/calibrations/*.json; do
  [ -f "$first" ] && cp "$first" "$out/calibration-1.json"
done

t=$(limit 20 60)
if [ -n "$t" ] && [ -f "$out/calibration-1.json" ]; then
  timeout "$t" "$bin/brrr" profile -q --force -o "$out/demo-measured.json" -- "$bin/brrr-demo" \
    --phases unfused,fused,gemm >> "$log" 2>&1
  echo "== profile with the calibration: exit $?" | tee -a "$log"
  {
    "$bin/brrr" explain "$out/demo-measured.json" > "$out/demo-measured.txt"
    "$bin/brrr" explain --ceilings datasheet -f json "$out/demo-measured.json" > "$out/demo-datasheet.json"
    "$bin/brrr" explain --ceilings datasheet "$out/demo-measured.json" > "$out/demo-datasheet.txt"
  } 2>> "$log"
else
  echo "== profile with the calibration: skipped (no calibration, or out of budget)" | tee -a "$log"
fi

gpu_test=()
if [ "${CALIBRATE_GPU_TEST:-1}" = 0 ]; then
  echo "== gpu test of calibrate: left out (CALIBRATE_GPU_TEST=0)" | tee -a "$log"
elif t=$(limit 90 150) && [ -n "$t" ]; then
  begin=$SECONDS
  timeout "$t" "$bin/brrr_gpu_tests" -tc='calibrate*' > "$out/gpu-test-calibrate.txt" 2>&1
  status=$?
  echo "== gpu test of calibrate: exit $status after $((SECONDS - begin)) s (limit $t s)" | tee -a "$log"
  tail -n 3 "$out/gpu-test-calibrate.txt"
  gpu_test=(--gpu-test "$out/gpu-test-calibrate.txt" --gpu-test-status "$status" --gpu-test-seconds
    "$((SECONDS - begin))")
else
  echo "== gpu test of calibrate: skipped, out of budget" | tee -a "$log"
fi

if [ -f "$out/calibration-1.json" ] && [ -f "$out/calibration-2.json" ]; then
  demo=()
  [ -f "$out/demo-measured.json" ] && [ -s "$out/demo-datasheet.json" ] &&
    demo=(--measured-report "$out/demo-measured.json" --datasheet-report "$out/demo-datasheet.json")
  python3 bench/calibrate_report.py --runs "$out/calibration-1.json" "$out/calibration-2.json" \
    --seconds "${seconds[@]}" --command "BUDGET=$budget scripts/device-calibrate.sh" "${demo[@]}" "${gpu_test[@]}" \
    > "$out/calibrate-h100.md"
  echo "== $out/calibrate-h100.md written" | tee -a "$log"
  awk '/^## /{show = ($0 == "## Targets")} show' "$out/calibrate-h100.md"
else
  echo "== no calibrate-h100.md: a calibration is missing (see $log)" | tee -a "$log"
  exit 1
fi
echo "== device-calibrate.sh: $((SECONDS - start)) s of a budget of $budget s" | tee -a "$log"
