#!/usr/bin/env bash
# Installs what batch-runner needs from Debian (or Ubuntu), when it is missing:
#   scripts/install-dependencies.sh            the system libraries it builds against
#   scripts/install-dependencies.sh --tests    those, and the real servers the test suite starts (tinyproxy)
set -euo pipefail
packages=(libcsv-dev libsqlite3-dev)
if [ "${1:-}" = "--tests" ]; then
    packages+=(tinyproxy)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "Installing ${missing[*]} ..." >&2
    $sudo apt-get update -qq
    # tinyproxy's own service may start on port 8888; the tests never use it (they start theirs on free ports).
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
