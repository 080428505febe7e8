#!/usr/bin/env bash
# Runs one batch-runner job (from cron) and turns its exit code into an alert for the on-call person.
# See docs/scheduling.md.
#
#   run-nightly.sh JOB.yml [more `batch-runner run` options]   run the job, then report how it ended
#   run-nightly.sh --report UNIT                               report how a systemd unit ended (for the
#                                                              OnFailure=/OnSuccess= unit batch-runner-report@)
#
# Exit status: 0 when the job finished (0) or stopped resumably (75: the next run resumes), else batch-runner's.
#
# Environment (all optional):
#   BATCH_RUNNER      the binary                              (default: batch-runner on PATH)
#   CREDENTIALS_FILE  KEY=value lines, readable by the owner only (mode 0600), exported to batch-runner
#                                                             (default: /etc/batch-runner/credentials.env if present)
#   NOTIFY            the alert command, called as: NOTIFY SEVERITY SUBJECT BODY
#                     SEVERITY is critical (nothing progresses until someone acts) or warning (next business day)
#                                                             (default: notify, a placeholder to replace)
#   STATE_DIR         where consecutive stops (75) are counted (default: /var/lib/batch-runner); a folder only
#                     the account running this script can write (the report unit, as root, uses its own)
#   MAX_STOPS         alert when a job stopped with 75 this many runs in a row (default: 3)
#   MAX_RUNTIME       send SIGTERM after this long (timeout(1) syntax: 5h); the run checkpoints, exits 75, and the
#                     next run resumes                        (default: no limit)
set -uo pipefail

BATCH_RUNNER="${BATCH_RUNNER:-batch-runner}"
NOTIFY="${NOTIFY:-notify}"
STATE_DIR="${STATE_DIR:-/var/lib/batch-runner}"
MAX_STOPS="${MAX_STOPS:-3}"
MAX_RUNTIME="${MAX_RUNTIME:-}"
HOST="$(hostname 2>/dev/null || echo unknown-host)"

alert() {  # alert SEVERITY SUBJECT BODY
    if ! "$NOTIFY" "$1" "$2" "$3"; then
        echo "run-nightly: the alert could not be sent ($NOTIFY $1 \"$2\")" >&2
        logger -t batch-runner -p user.err "$2: $3" 2>/dev/null || true
    fi
}

# Counts consecutive 75s of a job: `stops NAME reset` or `stops NAME add` (prints the new count).
# The file is never written through: the new count goes to a new file in the same folder, renamed over the old
# name (mv -T replaces a link planted there, it does not follow it), and a link is never read.
stops() {
    local file="$STATE_DIR/.run-nightly-$1.stops" count=0 next
    if [ "$2" = reset ]; then
        rm -f "$file"
        return
    fi
    if [ -f "$file" ] && [ ! -L "$file" ]; then count="$(head -c 20 "$file" 2>/dev/null || echo 0)"; fi
    case "$count" in '' | *[!0-9]*) count=0 ;; esac
    count=$((count + 1))
    if next="$(mktemp "$STATE_DIR/.run-nightly-$1.stops.XXXXXX" 2>/dev/null)"; then
        { echo "$count" >"$next" && mv -T -f "$next" "$file"; } 2>/dev/null || rm -f "$next"
    fi
    echo "$count"
}

# What an exit status means and what to do; alerts when someone has to act. The reason is the run's last stderr
# line (its closing message: never a secret or a personal number).
report() {  # report NAME STATUS REASON
    local name="$1" status="$2" reason="${3:-}" subject="batch-runner $1 on $HOST"
    local see="Runbook: docs/scheduling.md#exit-codes. Last message: ${reason:-(none)}"
    case "$status" in
        0)
            stops "$name" reset ;;
        75)
            local count
            count="$(stops "$name" add)"
            if [ "$count" -ge "$MAX_STOPS" ]; then
                alert warning "$subject: stopped early $count runs in a row (75)" \
                    "Each run resumes, but the job is not getting to its end: quota too small for the manifest, the service failing, or another run holding the lock. Check stop_reason in summary.json and batch-runner status. $see"
            fi ;;
        3)
            stops "$name" reset
            alert warning "$subject: some rows failed (3)" \
                "Read the error column of results.csv. Fix the cause, then run once with --retry-failed (or --retry-unknown after checking the ID Scan portal). Until then every run exits 3 again. $see" ;;
        64)
            alert critical "$subject: command line wrong (64)" \
                "The crontab line or the unit's ExecStart has an option batch-runner does not know. Nothing ran. $see" ;;
        65)
            alert critical "$subject: manifest unusable (65)" \
                "The manifest is missing, not CSV, lacks a column, or changed since the state was made. The message names the file, row and column. Nothing was sent. $see" ;;
        69)
            alert critical "$subject: credentials refused (69)" \
                "The API refused the client id/secret (rotated, expired, or the product subscription ended). Update the credentials file. Progress is saved. $see" ;;
        70)
            alert critical "$subject: internal error (70)" \
                "A bug in batch-runner. Keep the log and summary.json and report it; running again is safe. $see" ;;
        74)
            alert critical "$subject: output or state not writable (74)" \
                "Disk full, wrong owner or mode of the output folder, or a path outside ReadWritePaths. Progress is saved. $see" ;;
        78)
            alert critical "$subject: job file or environment wrong (78)" \
                "The message names the key and line of the job file, or the missing credential variable. Fix it and check with batch-runner validate. Nothing was sent. $see" ;;
        *)
            alert critical "$subject: ended with $status" \
                "Killed or crashed (137 or KILL: SIGKILL, often the OOM killer: see journalctl -k). The state stays consistent and the next run resumes. $see" ;;
    esac
}

# --report UNIT: how a systemd unit ended, from OnFailure=/OnSuccess= (MONITOR_* since systemd 251) or systemctl.
if [ "${1:-}" = --report ]; then
    unit="${2:?--report needs the unit name}"
    status="${MONITOR_EXIT_STATUS:-$(systemctl show --property=ExecMainStatus --value "$unit" 2>/dev/null)}"
    # A unit that failed before its command ran (a missing EnvironmentFile=, a start limit) has no exit status,
    # or 0: its result says it failed.
    result="${MONITOR_SERVICE_RESULT:-}"
    if [ -n "$result" ] && [ "$result" != success ] && { [ -z "$status" ] || [ "$status" = 0 ]; }; then
        status="$result"
    fi
    if [ -n "${MONITOR_INVOCATION_ID:-}" ]; then
        reason="$(journalctl --no-pager --output=cat --lines=1 _SYSTEMD_INVOCATION_ID="$MONITOR_INVOCATION_ID" 2>/dev/null)"
    else
        reason="$(journalctl --no-pager --output=cat --lines=1 --unit="$unit" 2>/dev/null)"
    fi
    report "${unit%.service}" "${status:-unknown}" "${reason:0:500}"
    exit 0
fi

job="${1:?usage: run-nightly.sh JOB.yml [batch-runner run options] | run-nightly.sh --report UNIT}"
shift
name="$(basename "$job" .yml)"

# Credentials: KEY=value lines, parsed (never executed), as systemd's EnvironmentFile= reads them.
credentials="${CREDENTIALS_FILE:-/etc/batch-runner/credentials.env}"
if [ -e "$credentials" ]; then
    if [ -n "$(find "$credentials" -maxdepth 0 -perm /077 2>/dev/null)" ]; then
        report "$name" 78 "$credentials is readable by others than its owner; chmod 600 it"
        exit 78
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        line="${line%$'\r'}"
        case "$line" in '' | '#'* | ';'*) continue ;; esac
        key="${line%%=*}"
        value="${line#*=}"
        key="${key//[[:space:]]/}"
        [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value="${BASH_REMATCH[1]}"; fi
        export "$key=$value"
    done <"$credentials"
elif [ -n "${CREDENTIALS_FILE:-}" ]; then
    report "$name" 78 "the credentials file $credentials does not exist"
    exit 78
fi

command=("$BATCH_RUNNER" run "$job" "$@")
if [ -n "$MAX_RUNTIME" ]; then
    # --preserve-status: the run's own 75 after SIGTERM, not timeout's 124.
    # --foreground: the TERM goes to batch-runner alone, once (not also to its process group: a second TERM
    # means "exit at once").
    command=(timeout --foreground --preserve-status --signal=TERM --kill-after=2m "$MAX_RUNTIME" "${command[@]}")
fi

# stdout goes where this script's goes; stderr too, and a copy is kept for the closing message.
last_lines="$(mktemp)"
trap 'rm -f "$last_lines"' EXIT
exec 3>&1
"${command[@]}" 2>&1 >&3 3>&- | tee "$last_lines" >&2
status="${PIPESTATUS[0]}"
exec 3>&-

report "$name" "$status" "$(tail -n 1 "$last_lines" | cut -c1-500)"
case "$status" in
    0 | 75) exit 0 ;;
    *) exit "$status" ;;
esac
