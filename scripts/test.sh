#!/usr/bin/env bash
# Installs the build dependencies, builds brrr and runs the test suite; then runs the CPU tests
# again with AddressSanitizer and UndefinedBehaviorSanitizer (build-sanitize/), and each fuzz
# target for a bounded time (scripts/fuzz.sh; BRRR_FUZZ_SECONDS, 20 s each here).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The CI gate example of docs/ci.md, on the recorded reports: proves the documented example works.
BRRR=build/bin/brrr ./scripts/ci-gate-example.sh

# The sanitized suite needs no CUDA: the GPU tests run CUDA programs, not brrr's own code.
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBRRR_SANITIZE=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON
cmake --build build-sanitize -j "$(nproc)" --target brrr brrr_tests
UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)" -L cpu -LE browser

BRRR_FUZZ_SECONDS="${BRRR_FUZZ_SECONDS:-20}" ./scripts/fuzz.sh
