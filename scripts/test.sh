#!/usr/bin/env bash
# Installs what is missing, builds everything once, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh --tests
swift build --build-tests
swift test --skip-build "$@"
