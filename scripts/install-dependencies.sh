#!/usr/bin/env bash
# Installs what batch-runner needs from Debian (or Ubuntu), when it is missing:
#   scripts/install-dependencies.sh            the system libraries it builds against
#   scripts/install-dependencies.sh --tests    those, and the real servers the test suite starts (tinyproxy,
#                                              PostgreSQL: each test run makes a throwaway cluster on a free port)
#                                              and strace (the durability test traces the binary's system calls)
#   scripts/install-dependencies.sh --package  those, and what scripts/package.sh and check-package.sh use
set -euo pipefail
packages=(libcsv-dev libsqlite3-dev)
case "${1:-}" in
    --tests) packages+=(tinyproxy postgresql strace) ;;
    --package) packages+=(dpkg-dev binutils lintian debootstrap) ;;
esac
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "Installing ${missing[*]} ..." >&2
    $sudo apt-get update -qq
    # tinyproxy's and PostgreSQL's own services may start (ports 8888, 5432); the tests never use them: they
    # start their own on free ports.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
