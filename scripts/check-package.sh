#!/usr/bin/env bash
# Proves the Debian package works where no Swift exists: installs it with apt into a minimal Debian 12 root and
# runs it there. Needs root (chroot) and Debian's package mirror.
#
#   sudo bash scripts/check-package.sh [dist/batch-runner_VERSION_amd64.deb]   (default: the newest in dist/)
#
# The root is made once with debootstrap (minbase, plus man-db) and kept as a tarball under .cache/ (git-ignored);
# each check unpacks a fresh copy, so nothing of one check leaks into the next. Inside it, as the package's own
# user where a user would be: `batch-runner --version`, `man -w`, `validate` of an example job, the number-verify
# example on the embedded sandbox (results.csv checked), the report unit's stop counter with a planted link (never
# written through), and a purge that keeps the user and the state.
# MIRROR= changes the mirror (default: http://deb.debian.org/debian). Each step that reaches it ends within
# its time limit (debootstrap 15 min, each apt-get 10 min): a stalled mirror fails the check, it never hangs CI.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-package: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (chroot, mount); run it with sudo"

deb="${1:-$(ls -t dist/batch-runner_*_amd64.deb 2>/dev/null | head -n 1 || true)}"
[ -n "$deb" ] && [ -f "$deb" ] || fail "no package; build it first: bash scripts/package.sh"
version="$(dpkg-deb --field "$deb" Version)"

bash scripts/install-dependencies.sh --package

mirror="${MIRROR:-http://deb.debian.org/debian}"
cache=.cache/check-package
base="$cache/bookworm-minbase-man-db.tar"
if [ ! -f "$base" ]; then
    echo "check-package: making a minimal Debian 12 root (once; kept in $base) ..." >&2
    mkdir -p "$cache"
    fresh="$(mktemp -d)"
    timeout 900 debootstrap --variant=minbase --include=man-db bookworm "$fresh" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log" >&2; rm -rf "$fresh"; fail "debootstrap failed"; }
    rm -rf "$fresh"/var/cache/apt/archives/*.deb
    chmod 0755 "$fresh"
    tar -C "$fresh" -cf "$base.partial" . && mv "$base.partial" "$base"
    rm -rf "$fresh"
fi

root="$(mktemp -d)"
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    # Never walk into a /proc still mounted there.
    if mountpoint -q "$root/proc"; then
        echo "check-package: $root/proc is still mounted; left $root in place" >&2
    else
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
chmod 0755 "$root"  # mktemp made it (and the cached root) 0700: the root's / must be open to its users
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/batch-runner.deb"
inside() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
as_user() {  # as the package's user: numeric ids, since chroot may look names up outside the root
    chroot --userspec="$(inside id -u batch-runner):$(inside id -g batch-runner)" "$root" \
        env -i PATH=/usr/bin:/bin HOME=/var/lib/batch-runner LANG=C.UTF-8 "$@"
}

inside sh -c '! command -v swift' || fail "the root has a Swift toolchain"
inside timeout 600 apt-get update -qq
inside timeout 600 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/batch-runner.deb \
    >"$root/tmp/apt.log" 2>&1 || { tail -n 20 "$root/tmp/apt.log" >&2; fail "apt could not install $deb"; }
[ -z "$(find "$root" -xdev -name 'libswiftCore*' -print -quit)" ] || fail "a Swift runtime library is in the root"

[ "$(inside batch-runner --version)" = "$version" ] || fail "batch-runner --version is not $version"
for page in batch-runner batch-runner.run batch-runner-run batch-runner-validate batch-runner-status batch-runner-export; do
    inside man -w "$page" >/dev/null || fail "man -w $page found no page"
done
[ "$(inside stat -c '%U %a' /var/lib/batch-runner)" = "batch-runner 700" ] \
    || fail "/var/lib/batch-runner is not the batch-runner user's with mode 0700"
for unit in batch-runner-nightly.service batch-runner-nightly.timer batch-runner-report@.service; do
    [ -f "$root/lib/systemd/system/$unit" ] || fail "no $unit"
    for path in $(grep -hoE '^ExecStart=[^ ]+' "$root/lib/systemd/system/$unit" | cut -d= -f2); do
        [ -x "$root$path" ] || fail "$unit starts $path, which the package does not hold"
    done
done
[ -x "$root/usr/share/doc/batch-runner/examples/run-nightly.sh" ] || fail "the wrapper example is not there"

examples=/usr/share/doc/batch-runner/examples
as_user batch-runner validate "$examples/jobs/number-verify.yml" --sandbox >/dev/null \
    || fail "validate of the example job failed"
as_user timeout 300 batch-runner run "$examples/jobs/number-verify.yml" --sandbox --no-progress --log-level warning \
    --output /var/lib/batch-runner/check --state /var/lib/batch-runner/check.sqlite \
    || fail "the number-verify example on the embedded sandbox exited $?"
results="$root/var/lib/batch-runner/check/results.csv"
[ -f "$results" ] || fail "the run wrote no results.csv"
manifest_rows=$(($(wc -l <"$root$examples/samples/msisdns.csv") - 1))
answered=$(($(wc -l <"$results") - 1))
rejected=$(($(wc -l <"$root/var/lib/batch-runner/check/rejects.csv") - 1))
[ "$answered" -gt 0 ] && [ $((answered + rejected)) -eq "$manifest_rows" ] \
    || fail "results.csv has $answered rows and rejects.csv $rejected; the manifest has $manifest_rows"
grep -q ',ok,' "$results" || fail "results.csv has no ok row"

# The report unit runs as root: a link the service user plants where it counts stops must not be written through.
# As systemd would, make the unit's StateDirectory= (root's, 0700); plant a link in it (refused: not the user's)
# and in /var/lib/batch-runner (the user's), then report a 75 with each folder: the victim stays as it was.
report_unit="$root/lib/systemd/system/batch-runner-report@.service"
report_dir="$(sed -n 's/^Environment=STATE_DIR=//p' "$report_unit")"
[ -n "$report_dir" ] && [ "$report_dir" != /var/lib/batch-runner ] \
    || fail "the report unit counts stops in ${report_dir:-?}, a folder the service user owns"
grep -qx "StateDirectory=${report_dir#/var/lib/}" "$report_unit" || fail "the report unit does not own $report_dir (StateDirectory=)"
inside install -d -m 0700 "$report_dir"
inside sh -c 'echo precious >/etc/batch-runner-victim && chmod 0600 /etc/batch-runner-victim'
counter=.run-nightly-batch-runner-nightly.stops
! as_user ln -s /etc/batch-runner-victim "$report_dir/$counter" 2>/dev/null \
    || fail "the service user could plant a link in $report_dir"
as_user ln -s /etc/batch-runner-victim "/var/lib/batch-runner/$counter" || fail "could not plant the link"
for dir in "$report_dir" /var/lib/batch-runner; do
    inside env MONITOR_EXIT_STATUS=75 NOTIFY=/bin/true STATE_DIR="$dir" \
        /usr/lib/batch-runner/run-nightly.sh --report batch-runner-nightly.service \
        || fail "run-nightly.sh --report failed with STATE_DIR=$dir"
    [ "$(cat "$root/etc/batch-runner-victim")" = precious ] || fail "the report wrote through a link in $dir"
    [ ! -L "$root$dir/$counter" ] && [ "$(cat "$root$dir/$counter")" = 1 ] \
        || fail "the report did not replace the counter in $dir with a file of its own holding 1"
done

# A purge keeps the user and the state (the package says so instead of deleting them).
inside dpkg --purge batch-runner >"$root/tmp/purge.log" 2>&1 || fail "dpkg --purge failed"
grep -q "kept the batch-runner user" "$root/tmp/purge.log" || fail "the purge did not say what it kept"
inside getent passwd batch-runner >/dev/null || fail "the purge removed the batch-runner user"
[ -f "$results" ] || fail "the purge removed /var/lib/batch-runner"
[ ! -e "$root/usr/bin/batch-runner" ] || fail "the purge left /usr/bin/batch-runner"

echo "check-package: $deb installs and runs on Debian 12 without Swift ($answered results, $rejected rejects)"
