#!/usr/bin/env bash
# Chaos soak: several workers on one PostgreSQL campaign under random faults (kill -9, SIGSTOP, backends
# terminated, PostgreSQL restarted, table locked, SIGTERM), then a final drain and checks against the sandbox's
# request log. Run by hand, never in CI; see scripts/chaos_check.py for what is checked.
#
#   bash scripts/chaos.sh [--workers 3] [--minutes 30] [--seed 1] [--rows N] [--binary PATH]
#                         [--no-state-timeout] [--keep]
#
# Needs Debian's postgresql (initdb, pg_ctl, psql), and runuser when run as root. Exit 0 when every check
# passes, 1 otherwise. Ctrl-C stops the soak and every process it started (sandbox, PostgreSQL, workers).
set -euo pipefail
cd "$(dirname "$0")/.."

# Python cleans up on SIGTERM; forward Ctrl-C and friends to it and wait for its cleanup to finish.
python3 scripts/chaos_check.py "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM HUP
status=0
while true; do
    wait "$child" && status=0 || status=$?
    # `wait` returns early (>128) when a trapped signal arrives; loop until the child has really ended.
    kill -0 "$child" 2>/dev/null || break
done
exit "$status"
