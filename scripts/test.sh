#!/usr/bin/env bash
# Installs the build dependencies, builds brrr, and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The CI gate example of docs/ci.md, on the recorded reports: proves the documented example works.
BRRR=build/bin/brrr ./scripts/ci-gate-example.sh
