#!/usr/bin/env bash
# CI's steps (.ci/run calls this on a clean clone): install the build dependencies; build brrr
# (with its CUDA parts where the toolkit is) in build/, run the test suite and the CI gate
# example; then build one sanitized tree with clang, build-sanitize/ (`cmake --preset sanitize`:
# AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's instrumentation on brrr's code, no
# CUDA), run the CPU tests there, and each fuzz target for a bounded time (scripts/fuzz.sh:
# BRRR_FUZZ_SECONDS, 20 s each here, as many at once as there are cores). Compilations go
# through ccache when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cxx_launcher=()
cuda_launcher=()
if command -v ccache >/dev/null; then
  # Paths under the checkout hash alike in every clone, and so does the build folder, so that one
  # clone's cache serves the next (debug information may then name the first clone's folders).
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
  cxx_launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cuda_launcher=(-DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cxx_launcher[@]}" "${cuda_launcher[@]}"
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The CI gate example of docs/ci.md, on the recorded reports: proves the documented example works.
BRRR=build/bin/brrr ./scripts/ci-gate-example.sh

# The sanitized suite: the CPU tests, the CLI tests running the sanitized brrr. The browser test
# runs in build/ only: it drives Chromium, not brrr's code.
cmake --preset sanitize "${cxx_launcher[@]}"
cmake --build build-sanitize -j "$(nproc)" --target brrr brrr_tests fuzz
UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)" -L cpu -LE browser

BRRR_FUZZ_SECONDS="${BRRR_FUZZ_SECONDS:-20}" ./scripts/fuzz.sh
