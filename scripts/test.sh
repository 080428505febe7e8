#!/usr/bin/env bash
# Installs what is missing, builds everything once, and runs the whole test suite.
#
# Every test that can hang has its own time limit; as a last guard the suite as a whole ends after
# BATCH_RUNNER_TEST_TIMEOUT (default 45m, a timeout(1) duration) and then names the tests that started and never
# ended, so a hang fails with its name instead of outliving CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh --tests
swift build --build-tests
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
timeout --kill-after=30s "${BATCH_RUNNER_TEST_TIMEOUT:-45m}" swift test --skip-build "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "test.sh: the suite did not end within ${BATCH_RUNNER_TEST_TIMEOUT:-45m}; started and never ended:" >&2
    # Swift Testing prints "◇ Test NAME started." and "✔/✘ Test NAME passed/failed ..." for each test.
    awk '/^◇ Test .* started\.$/ && !/^◇ Test case/ { sub(/^◇ Test /, ""); sub(/ started\.$/, ""); open[$0]++ }
         /^(✔|✘) Test / { line = $0; sub(/^(✔|✘) Test /, "", line); sub(/ (with [0-9]+ test cases? )?(passed|failed).*$/, "", line); open[line]-- }
         END { for (name in open) if (open[name] > 0) print "  " name }' "$log" >&2
fi
exit "$status"
