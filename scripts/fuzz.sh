#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, with AddressSanitizer and
# UndefinedBehaviorSanitizer) in the sanitized tree, build-sanitize/ (`cmake --preset sanitize`,
# which scripts/test.sh also builds the sanitized test suite in), and runs each one for a bounded
# time, as many at once as there are cores. Fails on any crash, leak, sanitizer report, timeout
# or out-of-memory; the input that caused it is saved in build-sanitize/artifacts/, and once
# fixed it belongs in tests/fuzz/corpus/<name>/.
#
# Each target starts from tests/fuzz/corpus/<name>/ (its own seeds and past crashes) and from
# the files it is named after: the recorded reports, the hardware profiles. A target whose
# input has words of its own (the gates' conditions) has them in tests/fuzz/<name>.dict.
#
#   scripts/fuzz.sh [NAME...]      (all targets when none is named)
#
# BRRR_FUZZ_SECONDS: how long each target runs (default 60).
# BRRR_FUZZ_JOBS: how many targets run at once (default: the number of cores); each fuzzer is
# one process on one core.
# BRRR_FUZZ_BUILD: the build folder (default build-sanitize). New inputs the fuzzer finds are
# kept in <build>/corpus/<name>/, so that repeated runs go on where the last one stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BRRR_FUZZ_SECONDS:-60}"
jobs="${BRRR_FUZZ_JOBS:-$(nproc)}"
build="${BRRR_FUZZ_BUILD:-build-sanitize}"

cmake --preset sanitize -B "$build" >/dev/null
cmake --build "$build" --target fuzz -j "$(nproc)"

names=("$@")
if ((${#names[@]} == 0)); then
  for program in "$build"/bin/fuzz_*; do names+=("${program##*/fuzz_}"); done
fi
declare -A real_files=([report]="examples/reports tests/fixtures" [profile]="profiles")
mkdir -p "$build/artifacts"
# fuzz NAME: runs one target for its time; its log is <build>/fuzz-NAME.log.
fuzz() {
  local name=$1 work="$build/corpus/$1" seeds=() options=() dir
  mkdir -p "$work"
  [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
  for dir in ${real_files[$name]:-}; do seeds+=("$dir"); done
  [ -f "tests/fuzz/$name.dict" ] && options=(-dict="tests/fuzz/$name.dict")
  "$build/bin/fuzz_$name" -max_total_time="$seconds" -detect_leaks=1 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" "${options[@]}" "$work" "${seeds[@]}" \
    >"$build/fuzz-$name.log" 2>&1
}

# report NAME STATUS: what one run did, or why it failed.
failed=()
report() {
  local name=$1 status=$2 log="$build/fuzz-$1.log"
  if [ "$status" -eq 0 ]; then
    echo "fuzz_$name: ${seconds} s"
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" | sed "s/^/  /"
  else
    failed+=("$name")
    tail -n 60 "$log"
    echo "fuzz_$name FAILED; full log: $log; input: $(ls -t "$build/artifacts/$name-"* 2>/dev/null | head -n 1)"
  fi
}

# Up to $jobs targets at once; each one's result is printed when it ends.
declare -A running=()
collect() { # waits for one running target to end, and reports it
  local ended status=0
  wait -n -p ended "${!running[@]}" || status=$?
  report "${running[$ended]}" "$status"
  unset "running[$ended]"
}
for name in "${names[@]}"; do
  ((${#running[@]} < jobs)) || collect
  fuzz "$name" &
  running[$!]=$name
done
while ((${#running[@]})); do collect; done
if ((${#failed[@]})); then
  echo "fuzzing failed: ${failed[*]}"
  exit 1
fi
echo "fuzzing: ${#names[@]} targets, no crash, leak or sanitizer report"
