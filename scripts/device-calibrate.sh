#!/usr/bin/env bash
# On a GPU machine with a carried build: `brrr calibrate` twice, and the figures with their
# repeatability in $OUT/calibrate-h100.md (for bench/results/); the first run goes to the
# per-user folder (here $OUT/xdg), so that `brrr profile` of the demo then finds it by itself,
# and the report is explained against both roofs; last, the GPU test of calibrate. Every file
# goes under $OUT: the tables, the logs, both calibrations, the demo's report.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
bin=${BRRR_BIN:-build-device/bin}
out=$(realpath -m "${OUT:-out}")
mkdir -p "$out"
export XDG_DATA_HOME="$out/xdg"
log=$out/calibrate-log.txt
: > "$log"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,mig.mode.current \
  --format=csv >> "$log" 2>&1

seconds=()
for run in 1 2; do
  args=()
  [ "$run" = 2 ] && args=(-o "$out/calibration-2.json")
  start=$(date +%s%N)
  "$bin/brrr" calibrate "${args[@]}" > "$out/calibrate-$run.txt" 2> "$out/calibrate-$run.err"
  status=$?
  seconds+=("$(python3 -c "print(($(date +%s%N) - $start) / 1e9)")")
  echo "== calibrate run $run: exit $status after ${seconds[-1]} s" | tee -a "$log"
  cat "$out/calibrate-$run.txt" "$out/calibrate-$run.err" >> "$log"
done
for first in "$XDG_DATA_HOME"/brrr/calibrations/*.json; do
  [ -f "$first" ] && cp "$first" "$out/calibration-1.json"
done

"$bin/brrr" profile -q --force -o "$out/demo-measured.json" -- "$bin/brrr-demo" --phases unfused,fused,gemm \
  >> "$log" 2>&1
echo "== profile with the calibration: exit $?" | tee -a "$log"
{
  "$bin/brrr" explain "$out/demo-measured.json" > "$out/demo-measured.txt"
  "$bin/brrr" explain --ceilings datasheet -f json "$out/demo-measured.json" > "$out/demo-datasheet.json"
  "$bin/brrr" explain --ceilings datasheet "$out/demo-measured.json" > "$out/demo-datasheet.txt"
} 2>> "$log"

if [ -f "$out/calibration-1.json" ] && [ -f "$out/calibration-2.json" ]; then
  python3 bench/calibrate_report.py --runs "$out/calibration-1.json" "$out/calibration-2.json" \
    --seconds "${seconds[@]}" --measured-report "$out/demo-measured.json" \
    --datasheet-report "$out/demo-datasheet.json" > "$out/calibrate-h100.md"
  echo "== $out/calibrate-h100.md written" | tee -a "$log"
  awk '/^## /{show = ($0 == "## Targets")} show' "$out/calibrate-h100.md"
fi

# CALIBRATE_GPU_TEST=0 leaves out the GPU test (two more calibrations) when time is short.
if [ "${CALIBRATE_GPU_TEST:-1}" != 0 ]; then
  timeout 400 "$bin/brrr_gpu_tests" -tc='calibrate*' > "$out/gpu-test-calibrate.txt" 2>&1
  echo "== gpu test of calibrate: exit $?" | tee -a "$log"
  tail -n 3 "$out/gpu-test-calibrate.txt"
fi
