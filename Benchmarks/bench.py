#!/usr/bin/env python3
"""batch-runner's benchmark harness: release builds only, never part of CI.

    python3 Benchmarks/bench.py throughput [--rows 100000] [--runs 5]
    python3 Benchmarks/bench.py memory [--rows 1000000]
    python3 Benchmarks/bench.py quota [--variant headers|no-headers|spike-arrest|skew-ahead|skew-behind]
    python3 Benchmarks/bench.py intake [--rows 1000000] [--runs 5]

Every figure is printed as one JSON line and a human-readable line; BENCHMARKS.md records them with the command
that produced them. The sandbox runs as its own process (`batch-runner sandbox`), so the runner is measured alone.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "batch-runner")


def build():
    subprocess.run(["swift", "build", "-c", "release", "--product", "batch-runner"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def number(index):
    """The index-th distinct Dutch mobile number, none ending in 404 (the sandbox's unknown numbers)."""
    third = "123458"[index // 10_000_000 % 6]
    digits = "%07d" % (index % 10_000_000)
    value = "316" + third + digits
    return "3168" + digits[:-1] + "9" if value.endswith("404") else value


def write_manifest(path, rows):
    with open(path, "w") as out:
        out.write("customer_id,msisdn\n")
        chunk = []
        for row in range(1, rows + 1):
            chunk.append("C%d,+%s\n" % (row, number(row)))
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))


class Sandbox:
    """`batch-runner sandbox` on a free loopback port."""

    def __init__(self, *options):
        self.process = subprocess.Popen([BINARY, "sandbox", "--port", "0", *options], stdout=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            raise RuntimeError("the sandbox did not start: %r" % line)
        self.origin = "http://127.0.0.1:%s" % match.group(1)

    def stats(self):
        with urllib.request.urlopen(self.origin + "/_sandbox/stats") as answer:
            return json.load(answer)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def write_job(folder, origin, concurrency, extra=""):
    path = os.path.join(folder, "job.yml")
    with open(path, "w") as out:
        out.write("""kind: number-verify
manifest: manifest.csv
output: out
columns: { msisdn: msisdn, key: customer_id }
concurrency: %d
endpoints:
  base: %s/communication/kpn/numberverify
  token: %s/communication/kpn/numberverify/token
%s
""" % (concurrency, origin, origin, extra))
    return path


def run_job(job, *options):
    """Runs the job; answers (exit status, wall seconds, peak RSS in MiB)."""
    environment = dict(os.environ, KPN_CLIENT_ID="sandbox-client", KPN_CLIENT_SECRET="sandbox-secret")
    start = time.monotonic()
    process = subprocess.Popen([BINARY, "run", job, "--log-level", "warning", *options], env=environment,
                               stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - start
    return os.waitstatus_to_exitcode(status), elapsed, usage.ru_maxrss / 1024


def report(name, **figures):
    print(json.dumps({"benchmark": name, **figures}))
    sys.stdout.flush()


def throughput(arguments):
    """End-to-end rows per second against the sandbox with no quota and no latency."""
    sandbox = Sandbox("--quota-limit", "0")
    rates = []
    try:
        for run in range(arguments.runs):
            folder = tempfile.mkdtemp(prefix="bench-throughput-")
            write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
            job = write_job(folder, sandbox.origin, arguments.concurrency)
            status, elapsed, rss = run_job(job)
            assert status == 0, "run failed with %d" % status
            rates.append(arguments.rows / elapsed)
            print("  run %d: %.0f rows/s (%.2f s, peak %.0f MiB)" % (run + 1, rates[-1], elapsed, rss))
            shutil.rmtree(folder)
    finally:
        sandbox.stop()
    report("throughput", rows=arguments.rows, concurrency=arguments.concurrency, runs=len(rates),
           median_rows_per_second=round(statistics.median(rates)), min=round(min(rates)), max=round(max(rates)))


def memory(arguments):
    """Peak RSS of a whole run (intake, lookups, outputs) of a large manifest against the sandbox."""
    sandbox = Sandbox("--quota-limit", "0")
    try:
        folder = tempfile.mkdtemp(prefix="bench-memory-")
        write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
        job = write_job(folder, sandbox.origin, arguments.concurrency)
        status, elapsed, rss = run_job(job)
        assert status == 0, "run failed with %d" % status
        report("memory", rows=arguments.rows, peak_rss_mib=round(rss, 1), seconds=round(elapsed, 1),
               rows_per_second=round(arguments.rows / elapsed))
        shutil.rmtree(folder)
    finally:
        sandbox.stop()


QUOTA_VARIANTS = {
    # name: (sandbox options, runner options, rows, limit per minute)
    "headers": (["--quota-limit", "600"], [], 2000, 600),
    "skew-ahead": (["--quota-limit", "600"], ["--clock-offset=300"], 2000, 600),
    "skew-behind": (["--quota-limit", "600"], ["--clock-offset=-300"], 2000, 600),
    "no-headers": (["--quota-limit", "75", "--no-quota-headers"], [], 400, 75),
    "spike-arrest": (["--quota-limit", "0", "--spike-arrest", "75"], [], 400, 75),
}


def quota(arguments):
    """Quota adherence: 429s, calls per full window against the limit, wall time against the ideal."""
    sandbox_options, runner_options, rows, limit = QUOTA_VARIANTS[arguments.variant]
    rows = arguments.rows or rows
    folder = tempfile.mkdtemp(prefix="bench-quota-")
    log = os.path.join(folder, "requests.jsonl")
    sandbox = Sandbox(*sandbox_options, "--request-log", log)
    try:
        write_manifest(os.path.join(folder, "manifest.csv"), rows)
        job = write_job(folder, sandbox.origin, arguments.concurrency)
        status, elapsed, _ = run_job(job, *runner_options)
        assert status == 0, "run failed with %d" % status
        stats = sandbox.stats()
    finally:
        sandbox.stop()
    entries = [json.loads(line) for line in open(log)]
    calls = [entry for entry in entries if entry["endpoint"] != "POST /numberverify/token"]
    limited = sum(1 for entry in calls if entry["outcome"] == "rate_limited")
    # The sandbox's windows start at the first counted call after the previous window ended.
    windows, start = [], None
    for entry in calls:
        if entry["outcome"] != "ok":
            continue
        if start is None or entry["time"] >= start + 60:
            start = entry["time"]
            windows.append(0)
        windows[-1] += 1
    full = windows[:-1]
    ideal = rows / limit * 60
    report("quota-" + arguments.variant, rows=rows, limit_per_minute=limit, requests=len(calls),
           rate_limited=limited, rate_limited_share=round(limited / max(len(calls), 1), 4),
           calls_per_full_window=full, min_full_window_share=round(min(full) / limit, 3) if full else None,
           wall_seconds=round(elapsed, 1), ideal_seconds=round(ideal, 1), wall_over_ideal=round(elapsed / ideal, 3),
           sandbox_rate_limited=stats["by_outcome"].get("rate_limited", 0))
    shutil.rmtree(folder)


def intake(arguments):
    """Manifest intake (read, validate, normalise, checkpoint in SQLite) against `sqlite3 .import` of the same CSV
    into a table on disk, alternating the two so both see the same machine load; medians of `runs` each."""
    folder = tempfile.mkdtemp(prefix="bench-intake-")
    write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
    # No request is ever sent (--limit 0): the endpoint only has to be a valid URL.
    job = write_job(folder, "http://127.0.0.1:9", 8)
    runner, baseline = [], []
    for _ in range(arguments.runs):
        shutil.rmtree(os.path.join(folder, "out"), ignore_errors=True)
        status, elapsed, _ = run_job(job, "--limit", "0", "--no-progress")
        if status != 0:
            raise RuntimeError("the intake run exited %d" % status)
        runner.append(elapsed)
        database = os.path.join(folder, "baseline.sqlite")
        if os.path.exists(database):
            os.remove(database)
        start = time.monotonic()
        subprocess.run(["sqlite3", database, ".import --csv manifest.csv manifest"], cwd=folder, check=True)
        baseline.append(time.monotonic() - start)
    median_runner, median_baseline = statistics.median(runner), statistics.median(baseline)
    report("intake", rows=arguments.rows, runs=arguments.runs, runner_seconds=round(median_runner, 2),
           sqlite3_import_seconds=round(median_baseline, 2), ratio=round(median_runner / median_baseline, 2),
           target_ratio=1.5, runner_all=[round(x, 2) for x in runner], sqlite3_all=[round(x, 2) for x in baseline])
    shutil.rmtree(folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=["throughput", "memory", "quota", "intake"])
    parser.add_argument("--rows", type=int)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--variant", choices=sorted(QUOTA_VARIANTS), default="headers")
    parser.add_argument("--no-build", action="store_true", help="use the release binary as it is")
    arguments = parser.parse_args()
    if not arguments.no_build:
        build()
    if arguments.benchmark == "throughput":
        arguments.rows = arguments.rows or 100_000
        throughput(arguments)
    elif arguments.benchmark == "intake":
        arguments.rows = arguments.rows or 1_000_000
        intake(arguments)
    elif arguments.benchmark == "memory":
        arguments.rows = arguments.rows or 1_000_000
        memory(arguments)
    else:
        if arguments.concurrency == 32:
            arguments.concurrency = 8
        quota(arguments)


if __name__ == "__main__":
    main()
