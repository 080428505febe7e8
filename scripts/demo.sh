#!/usr/bin/env bash
# Installs what is missing, builds, and runs jobs/number-verify.yml against the embedded sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
swift build -c release --product batch-runner
.build/release/batch-runner run jobs/number-verify.yml --sandbox "$@"
