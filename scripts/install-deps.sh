#!/usr/bin/env bash
# Installs what brrr needs to build on Debian 12 / Ubuntu 24.04. The CUDA toolkit is
# optional: without it brrr builds explain and the tests, but cannot profile.
set -euo pipefail
# clang and libclang-rt-dev (libFuzzer, the sanitizers' runtimes for clang) build the fuzz
# targets (scripts/fuzz.sh).
packages=(cmake make g++ libcli11-dev libspdlog-dev nlohmann-json3-dev doctest-dev libfmt-dev clang libclang-rt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
