#!/usr/bin/env bash
# Installs what brrr needs to build on Debian 12 / Ubuntu 24.04, and Chromium, in which the
# tests load the HTML report. The CUDA toolkit is optional: without it brrr builds explain
# and the tests, but cannot profile.
set -euo pipefail
# clang and libclang-rt-dev (libFuzzer, the sanitizers' runtimes for clang) build the fuzz
# targets (scripts/fuzz.sh).
packages=(cmake make g++ libcli11-dev libspdlog-dev nlohmann-json3-dev doctest-dev libfmt-dev clang libclang-rt-dev)
# Only for the browser test, which is skipped without it; on Ubuntu the package installs a
# snap, which containers often cannot run, so failing to install it does not stop the build.
test_packages=(chromium)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t build_missing < <(missing "${packages[@]}")
mapfile -t test_missing < <(missing "${test_packages[@]}")
if ((${#build_missing[@]} + ${#test_missing[@]})); then
  $sudo apt-get update
fi
if ((${#build_missing[@]})); then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${build_missing[@]}"
fi
if ((${#test_missing[@]})); then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${test_missing[@]}" ||
    echo "install-deps: could not install ${test_missing[*]}; the browser test of the HTML report will be skipped" >&2
fi
