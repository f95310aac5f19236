#!/usr/bin/env bash
# README's main job: install what brrr needs, build it, then profile the bundled demo on this
# machine's GPU, or, without a GPU, explain the demo's report recorded on an H100.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBRRR_BUILD_TESTS=OFF > /dev/null
cmake --build build -j "$(nproc)"
if [ -x build/bin/brrr-demo ] && nvidia-smi -L > /dev/null 2>&1; then
  exec build/bin/brrr profile -o brrr-demo.json --force -- build/bin/brrr-demo
fi
echo "brrr: no GPU here: explaining examples/reports/demo-h100.json, recorded on an H100" >&2
exec build/bin/brrr explain examples/reports/demo-h100.json
