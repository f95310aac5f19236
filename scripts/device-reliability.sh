#!/usr/bin/env bash
# On a GPU machine, from the repository root, with a build carried in build-device/bin: the GPU
# half of docs/reliability.md within BUDGET seconds (default 240). Each hostile-target test case
# on its own, then the cases that go through the launcher's handling of exits, crashes and
# signals (--kill-after, the stream descriptor at 1000 or more, the standard-error guard), then
# bench/long_run.py with as many launches (up to 10 million) as the time left allows. Each step
# runs under `timeout`; everything is logged under $OUT, and $OUT/reliability-gpu.md is the
# fragment to paste into bench/results/reliability.md: pass or fail per case, the figures the
# cases print, and the long run's memory. Exits 0 when every case passed and the long run
# finished, 1 otherwise; without a GPU it says so and exits 0.
#
# The build it needs (brrr_gpu_tests brings the programs its cases run):
#   cmake -S . -B build-device -DCMAKE_BUILD_TYPE=Release
#   make -C build-device brrr brrr_inject brrr-test-target brrr_gpu_tests
#
#   OUT=/tmp/out BUDGET=300 scripts/device-reliability.sh
#
# BRRR_BIN: the carried bin folder (default build-device/bin).
# LONG_RUN_US_PER_LAUNCH: the long run's cost per launch in µs, used to size it (default 16:
# about 5 µs for the plain run, 9 µs under brrr with its default counters, 1 µs of brrr building
# the report, bench/results/trace-overhead-h100.md and pipeline-memory.md, and 1 µs of margin).
# A 10-million-launch run so takes about 160 s, which BUDGET=300 leaves it after the cases.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
bin=${BRRR_BIN:-build-device/bin}
out=${OUT:-out}
budget=${BUDGET:-240}
us_per_launch=${LONG_RUN_US_PER_LAUNCH:-16}
mkdir -p "$out"
log=$out/reliability-log.txt
tests_log=$out/reliability-gpu-tests.txt
fragment=$out/reliability-gpu.md
: > "$log"
: > "$tests_log"
export BRRR_SOURCE_DIR=$PWD PYTHONUNBUFFERED=1
start=$SECONDS
left() { echo $((budget - (SECONDS - start))); }
say() { echo "$*" | tee -a "$log"; }

skip() { # skip REASON: no GPU here, which is not a failure
  say "device-reliability: skipped: $1"
  printf '%s\n' "## Hostile targets and the launcher on a GPU" "" "Not run: $1." > "$fragment"
  exit 0
}

# A GPU is there when brrr_gpu_tests finds one (it exits 77 without); without the build, when
# nvidia-smi lists one.
if [ ! -x "$bin/brrr_gpu_tests" ]; then
  nvidia-smi -L > /dev/null 2>&1 || skip "no GPU here (no nvidia-smi) and no build in $bin"
  say "device-reliability: error: no $bin/brrr_gpu_tests; build it first:"
  say "  make -C build-device brrr brrr_inject brrr-test-target brrr_gpu_tests"
  exit 2
fi
"$bin/brrr_gpu_tests" -tc='no test case has this name' > /dev/null 2>&1
case $? in
  0) ;;
  77) skip "no GPU here (brrr_gpu_tests exits 77)" ;;
  *)
    say "device-reliability: error: $bin/brrr_gpu_tests does not start"
    exit 2
    ;;
esac
for program in brrr libbrrr-inject.so brrr-test-target; do
  [ -e "$bin/$program" ] || {
    say "device-reliability: error: no $bin/$program"
    exit 2
  }
done

gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2> /dev/null | head -n 1)
commit=$(git rev-parse --short HEAD 2> /dev/null || echo "the carried working tree")
say "device-reliability: ${gpu:-a GPU}, budget $budget s"

# The cases, as doctest lists them: every hostile target, then those whose target exits, crashes
# or is killed, and a process chain, which all go through the launcher's waiting, signal passing
# and stream handling. A comma in a name would split doctest's filter: it becomes a wildcard.
patterns='hostile*,a crashing target*,exit statuses pass through*,exit() with kernels in flight*'
patterns+=',a launch loop gives exactly its kernels*,a shell script that runs two CUDA programs*'
mapfile -t cases < <("$bin/brrr_gpu_tests" --list-test-cases --no-intro -tc="$patterns" 2> /dev/null |
  grep -v '^=\|^\[doctest\]\|^$')

rows=()
notes=()
# The long run needs a million launches' time (us_per_launch seconds) and its start-up after the
# cases.
reserve=$((us_per_launch + 25))
for name in "${cases[@]}"; do
  limit=60
  [[ $name == *"64 CUDA processes"* ]] && limit=120
  available=$(($(left) - reserve))
  if [ "$available" -lt 15 ]; then
    say "== $name: skipped, $available s left"
    rows+=("| $name | not run (budget) | |")
    continue
  fi
  [ "$limit" -gt "$available" ] && limit=$available
  case_log=$(mktemp)
  begin=$SECONDS
  timeout -k 10 "$limit" "$bin/brrr_gpu_tests" -tc="${name//,/*}" > "$case_log" 2>&1
  status=$?
  took=$((SECONDS - begin))
  { echo "== $name: exit $status after $took s (limit $limit s)"; cat "$case_log"; } >> "$tests_log"
  say "== $name: exit $status after $took s"
  if [ "$status" -eq 0 ] && grep -q 'test cases: *1 | *1 passed' "$case_log"; then
    result=pass
  elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    result="**fail**: timed out after $limit s"
  elif [ "$status" -eq 0 ]; then
    result="**fail**: the case did not run"
  else
    first=$(grep -m 1 -E 'ERROR|FATAL|SIGNAL' "$case_log" | sed 's/|/\\|/g; s/^.*: ERROR: /ERROR: /')
    result="**fail** (exit $status)${first:+: $first}"
  fi
  rows+=("| $name | $result | $took s |")
  # What the cases print besides their checks (memory figures): doctest's MESSAGE lines.
  while IFS= read -r message; do notes+=("- $name: $message"); done < <(sed -n 's/^.*: MESSAGE: //p' "$case_log")
  rm -f "$case_log"
done

# The long run: 10 million launches when they fit, else as many whole hundred-thousands as do.
seconds=$(($(left) - 25))
launches=$((seconds * 1000000 / us_per_launch / 100000 * 100000))
[ "$launches" -gt 10000000 ] && launches=10000000
long_run="Not run: $seconds s left, under a million launches' time at $us_per_launch µs a launch."
if [ "$launches" -ge 1000000 ]; then
  say "== long run: $launches launches, limit $((seconds + 15)) s"
  begin=$SECONDS
  timeout -k 10 $((seconds + 15)) python3 bench/long_run.py --bin "$bin" --launches "$launches" \
    --out "$out/long-run.md" >> "$log" 2>&1
  status=$?
  say "== long run: exit $status after $((SECONDS - begin)) s"
  if [ "$status" -eq 0 ] && [ -s "$out/long-run.md" ]; then
    long_run=$(cat "$out/long-run.md")
  else
    long_run="**Failed** (exit $status after $((SECONDS - begin)) s, $launches launches); see reliability-log.txt."
  fi
fi

{
  echo "## Hostile targets and the launcher on a GPU"
  echo
  echo "\`OUT=… BUDGET=$budget scripts/device-reliability.sh\` on $(hostname) (${gpu:-GPU unknown}), $commit, $(date -u +%F):"
  echo "each case of \`$bin/brrr_gpu_tests\` run on its own under \`timeout\`."
  echo
  echo "| test case | result | time |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
  if ((${#notes[@]})); then
    echo
    echo "What the cases printed:"
    echo
    printf '%s\n' "${notes[@]}"
  fi
  echo
  echo "$long_run"
} > "$fragment"
passed=$(grep -c '| pass |' "$fragment")
say "device-reliability: $passed of ${#cases[@]} cases passed, $((SECONDS - start)) s; fragment: $fragment"
[ "$passed" -eq "${#cases[@]}" ] && [ -s "$out/long-run.md" ]
