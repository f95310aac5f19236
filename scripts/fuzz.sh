#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, with AddressSanitizer and
# UndefinedBehaviorSanitizer) in build-fuzz/ and runs each one for a bounded time. Fails on any
# crash, leak, sanitizer report, timeout or out-of-memory; the input that caused it is saved in
# build-fuzz/artifacts/, and once fixed it belongs in tests/fuzz/corpus/<name>/.
#
# Each target starts from tests/fuzz/corpus/<name>/ (its own seeds and past crashes) and from
# the files it is named after: the recorded reports, the hardware profiles. A target whose
# input has words of its own (the gates' conditions) has them in tests/fuzz/<name>.dict.
#
#   scripts/fuzz.sh [NAME...]      (all targets when none is named)
#
# BRRR_FUZZ_SECONDS: how long each target runs (default 60).
# BRRR_FUZZ_BUILD: the build folder (default build-fuzz). New inputs the fuzzer finds are kept
# in <build>/corpus/<name>/, so that repeated runs go on where the last one stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BRRR_FUZZ_SECONDS:-60}"
build="${BRRR_FUZZ_BUILD:-build-fuzz}"

# The main build uses g++; libFuzzer needs clang. CUDA is not needed to read files.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DBRRR_FUZZ=ON \
  -DBRRR_BUILD_TESTS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON >/dev/null
cmake --build "$build" --target fuzz -j "$(nproc)"

names=("$@")
if ((${#names[@]} == 0)); then
  for program in "$build"/bin/fuzz_*; do names+=("${program##*/fuzz_}"); done
fi
declare -A real_files=([report]="examples/reports tests/fixtures" [profile]="profiles")
mkdir -p "$build/artifacts"
failed=()
for name in "${names[@]}"; do
  work="$build/corpus/$name"
  mkdir -p "$work"
  seeds=()
  [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
  for dir in ${real_files[$name]:-}; do seeds+=("$dir"); done
  options=()
  [ -f "tests/fuzz/$name.dict" ] && options=(-dict="tests/fuzz/$name.dict")
  log="$build/fuzz-$name.log"
  echo "fuzz_$name: ${seconds} s"
  if "$build/bin/fuzz_$name" -max_total_time="$seconds" -detect_leaks=1 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" "${options[@]}" "$work" "${seeds[@]}" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" | sed "s/^/  /"
  else
    failed+=("$name")
    tail -n 60 "$log"
    echo "fuzz_$name FAILED; full log: $log; input: $(ls -t "$build/artifacts/$name-"* 2>/dev/null | head -n 1)"
  fi
done
if ((${#failed[@]})); then
  echo "fuzzing failed: ${failed[*]}"
  exit 1
fi
echo "fuzzing: ${#names[@]} targets, no crash, leak or sanitizer report"
