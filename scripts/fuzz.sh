#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (with ASan) and runs them. See Fuzz/README.md.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS] [-- LIBFUZZER_FLAGS...]   fuzz one target or all (default: all, 60 s)
#   scripts/fuzz.sh merge TARGET                                      add the scratch corpus's new coverage to
#                                                                     the committed corpus (-set_cover_merge=1)
#   scripts/fuzz.sh repro TARGET FILE...                              run inputs once (a crash, a regression)
#   scripts/fuzz.sh regressions [TARGET|all]                          run every committed corpus file once
#
# TARGET: quota, msisdn or manifest. Targets run one after another, in one process each (libFuzzer's default,
# the same as -jobs=1 -workers=1 without the log indirection). New inputs go to the scratch corpus
# $FUZZ_WORK/<target>/corpus (default FUZZ_WORK=Fuzz/.work, ignored by git), never to the committed
# Fuzz/Corpus/<target>/, which is only read; crash files land in $FUZZ_WORK/<target>/artifacts/. Each run ends
# with libFuzzer's final statistics (-print_final_stats=1) and a summary line: execs, exec/s, cov, ft, corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
targets=(quota msisdn manifest token insights polling pim idscan)
work=${FUZZ_WORK:-$root/Fuzz/.work}
# ASan and libFuzzer handle crashes; the Swift backtracer would otherwise symbolicate for half a minute first.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

build() {
    # ld.gold (the default linker) hits an internal error on the sanitized objects: link with lld.
    swift build --package-path Fuzz -c release \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld >&2
    bin=$(swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --show-bin-path)
}

check_target() {
    case "$1" in
        quota | msisdn | manifest | token | insights | polling | pim | idscan) ;;
        *) echo "unknown target '$1' (quota, msisdn, manifest, token, insights, polling, pim, idscan)" >&2; exit 64 ;;
    esac
}

run() {
    local target=$1 seconds=$2
    shift 2
    local scratch=$work/$target/corpus artifacts=$work/$target/artifacts log=$work/$target/last-run.log
    mkdir -p "$scratch" "$artifacts"
    echo "== $target: ${seconds}s, scratch corpus $scratch" >&2
    local command=("$bin/$target-fuzz" "$scratch" "$root/Fuzz/Corpus/$target"
        -dict="$root/Fuzz/Dictionaries/$target.dict" -max_total_time="$seconds" -print_final_stats=1
        -artifact_prefix="$artifacts/" -timeout=20 -rss_limit_mb=4096 "$@")
    echo "\$ ${command[*]}" >&2
    local status=0
    "${command[@]}" 2>&1 | tee "$log" >&2 || status=$?
    summarise "$target" "$log"
    return "$status"
}

# The last status line (#N ... cov: ... ft: ... corp: ...) and the final stats.
summarise() {
    local target=$1 log=$2
    python3 - "$target" "$log" <<'EOF'
import re, sys
target, log = sys.argv[1], sys.argv[2]
text = open(log, errors="replace").read()
status = [l for l in text.splitlines() if re.match(r"#\d+\s", l) and "cov:" in l]
stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", text))
last = status[-1] if status else ""
def field(name):
    m = re.search(name + r":\s*(\S+)", last)
    return m.group(1) if m else "?"
crashed = "Test unit written to" in text and "crash-" in text or "deadly signal" in text or "ERROR: AddressSanitizer" in text
print(f"== {target}: execs {stats.get('number_of_executed_units', '?')}, "
      f"exec/s {stats.get('average_exec_per_sec', '?')}, cov {field('cov')}, ft {field('ft')}, "
      f"corpus {field('corp')}, new units {stats.get('new_units_added', '?')}, "
      f"peak RSS {stats.get('peak_rss_mb', '?')} MB, {'CRASH (see artifacts)' if crashed else 'no crash'}")
EOF
}

mode=${1:-all}
case "$mode" in
    merge)
        target=${2:?usage: scripts/fuzz.sh merge TARGET}
        check_target "$target"
        build
        before=$(find "Fuzz/Corpus/$target" -maxdepth 1 -type f | wc -l)
        # Edges only (-use_counters=0) and a greedy set cover: a plain -merge=1 keeps hundreds of inputs for
        # counter buckets alone.
        scratch=("$work/$target/corpus")
        [ -d "$work/no-expand/$target/corpus" ] && scratch+=("$work/no-expand/$target/corpus")
        "$bin/$target-fuzz" -set_cover_merge=1 -use_counters=0 "Fuzz/Corpus/$target" "${scratch[@]}" >&2
        after=$(find "Fuzz/Corpus/$target" -maxdepth 1 -type f | wc -l)
        echo "== $target: committed corpus $before -> $after files (keep it under ~200)" >&2
        ;;
    repro)
        target=${2:?usage: scripts/fuzz.sh repro TARGET FILE...}
        check_target "$target"
        shift 2
        build
        "$bin/$target-fuzz" -runs=1 "$@"
        ;;
    regressions)
        which=${2:-all}
        build
        [ "$which" = all ] && list=("${targets[@]}") || { check_target "$which"; list=("$which"); }
        for target in "${list[@]}"; do
            mapfile -t files < <(find "Fuzz/Corpus/$target" -type f | sort)
            echo "== $target: ${#files[@]} files" >&2
            "$bin/$target-fuzz" -runs=1 "${files[@]}" 2>&1 | tail -n 2 >&2
        done
        ;;
    *)
        seconds=${2:-60}
        shift $(($# >= 2 ? 2 : $#))
        [ "${1:-}" = "--" ] && shift
        build
        [ "$mode" = all ] && list=("${targets[@]}") || { check_target "$mode"; list=("$mode"); }
        failed=0
        for target in "${list[@]}"; do
            run "$target" "$seconds" "$@" || failed=1
        done
        exit "$failed"
        ;;
esac
