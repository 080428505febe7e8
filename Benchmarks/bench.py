#!/usr/bin/env python3
"""batch-runner's benchmark harness: release builds only, never part of CI.

    python3 Benchmarks/bench.py intake [--rows 1000000] [--runs 5]        # against sqlite3 .import
    python3 Benchmarks/bench.py throughput [--rows 100000] [--runs 5]    # against the bare client loop
    python3 Benchmarks/bench.py throughput --tls [--proxy]               # the same over HTTPS (through tinyproxy)
    python3 Benchmarks/bench.py memory [--rows 1000000 4000000]
    python3 Benchmarks/bench.py resume [--rows 1000000]
    python3 Benchmarks/bench.py quota [--variant headers|skew-ahead|skew-behind|no-headers[-10s|-5m|-1h][-retry-after]|spike-arrest[-retry-after]]
    python3 Benchmarks/bench.py quota --variant fixed-40-10s|spike-40-10s|spike-1-min|token-bucket-5-20|sliding-60-min|concurrency-8|share-0.8
    python3 Benchmarks/bench.py export [--rows 10000] [--runs 5]         # against the bare client loop
    python3 Benchmarks/bench.py postgres --variant throughput|intake|workers|quota|quota-no-headers|takeover   # the PostgreSQL store

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
BARE_CLIENT = os.path.join(ROOT, "Benchmarks", ".build", "release", "bare-client")


def build():
    subprocess.run(["swift", "build", "-c", "release", "--product", "batch-runner"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["swift", "build", "-c", "release", "--product", "bare-client"], cwd=os.path.join(ROOT, "Benchmarks"),
                   check=True, stdout=subprocess.DEVNULL)


def bare_client(mode, origin, lines_file, concurrency, environment=None):
    """The baseline: the same HTTP client, same requests and concurrency, nothing else. Answers its JSON line, plus
    `wall_seconds`: the process from start to exit, measured like the runner's runs. `environment` adds
    BARE_CA_FILE / BARE_PROXY (the runner's TLS and proxy settings)."""
    start = time.monotonic()
    output = subprocess.run([BARE_CLIENT, mode, origin, lines_file, str(concurrency)], check=True,
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, **(environment or {}))).stdout
    result = json.loads(output)
    result["wall_seconds"] = time.monotonic() - start
    if result["failed"]:
        raise RuntimeError("the bare client had %d failed requests" % result["failed"])
    return result


def number(index):
    """The index-th distinct Dutch mobile number, none ending in 404 (the sandbox's unknown numbers)."""
    third = "123458"[index // 10_000_000 % 6]
    digits = "%07d" % (index % 10_000_000)
    value = "316" + third + digits
    return "3168" + digits[:-1] + "9" if value.endswith("404") else value


def write_manifest(path, rows, numbers_path=None):
    """The manifest (`customer_id,msisdn`), and when asked the same numbers normalised, one per line, for the
    bare client."""
    numbers = open(numbers_path, "w") if numbers_path else None
    with open(path, "w") as out:
        out.write("customer_id,msisdn\n")
        chunk = []
        for row in range(1, rows + 1):
            chunk.append("C%d,+%s\n" % (row, number(row)))
            if numbers:
                numbers.write(number(row) + "\n")
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    if numbers:
        numbers.close()


class Sandbox:
    """`batch-runner sandbox` on a free loopback port; over HTTPS with `certificates` (a Certificates)."""

    def __init__(self, *options, certificates=None):
        tls = ["--tls-cert", certificates.server, "--tls-key", certificates.key] if certificates else []
        self.process = subprocess.Popen([BINARY, "sandbox", "--port", "0", *tls, *options], stdout=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline()
        match = re.search(r"https?://127\.0\.0\.1:(\d+)", line)
        if not match:
            raise RuntimeError("the sandbox did not start: %r" % line)
        self.certificates = certificates
        self.origin = ("https://localhost:%s" if certificates else "http://127.0.0.1:%s") % match.group(1)

    def stats(self):
        if self.certificates:
            import ssl
            context = ssl.create_default_context(cafile=self.certificates.ca)
            with urllib.request.urlopen(self.origin + "/_sandbox/stats", context=context) as answer:
                return json.load(answer)
        with urllib.request.urlopen(self.origin + "/_sandbox/stats") as answer:
            return json.load(answer)

    def stop(self):
        self.process.terminate()
        self.process.wait()


class Certificates:
    """A test CA and a server certificate for localhost it signs, made with openssl in `folder`."""

    def __init__(self, folder):
        self.ca, self.server, self.key = (os.path.join(folder, name) for name in ("ca.pem", "server.pem", "server-key.pem"))
        ca_key = os.path.join(folder, "ca-key.pem")
        quiet = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=bench CA"], **quiet)
        request = os.path.join(folder, "server.csr")
        subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", self.key, "-out", request, "-subj", "/CN=localhost"], **quiet)
        extensions = os.path.join(folder, "san.cnf")
        with open(extensions, "w") as out:
            out.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        subprocess.run(["openssl", "x509", "-req", "-in", request, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial",
                        "-out", self.server, "-days", "2", "-extfile", extensions], **quiet)


class Tinyproxy:
    """Debian's tinyproxy on a free loopback port, logging connections only."""

    def __init__(self, folder):
        import socket
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        configuration = os.path.join(folder, "tinyproxy.conf")
        with open(configuration, "w") as out:
            out.write("Port %d\nListen 127.0.0.1\nTimeout 60\nLogFile \"%s\"\nLogLevel Warning\nMaxClients 400\n"
                      % (self.port, os.path.join(folder, "tinyproxy.log")))
        self.process = subprocess.Popen(["tinyproxy", "-d", "-c", configuration], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.01)
        raise RuntimeError("tinyproxy did not start")

    def cpu_seconds(self):
        """User + system CPU of the proxy so far (all its threads)."""
        with open("/proc/%d/stat" % self.process.pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        self.process.wait()


def write_job(folder, origin, concurrency, extra="", manifest="manifest.csv"):
    path = os.path.join(folder, "job.yml")
    with open(path, "w") as out:
        out.write("""kind: number-verify
manifest: """ + manifest + """
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
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "no_proxy", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        environment.pop(name, None)
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
    """End-to-end requests per second against the sandbox with no quota and no latency, against the bare client
    loop sending the same requests with the same concurrency to the same sandbox; alternating, medians. Both are
    timed the same way: the process from start to exit (the runner's includes reading the manifest, checkpointing
    every row and writing the outputs; the bare client's its token request).

    `--tls`: the sandbox serves HTTPS with a certificate of a test CA that both trust (`http.ca_file`,
    BARE_CA_FILE), and each runner run's TLS handshakes are counted at the sandbox (its accepted connections).
    `--proxy` (with `--tls`): both go through one tinyproxy; its CPU is reported next to the runner's."""
    folder = tempfile.mkdtemp(prefix="bench-throughput-")
    certificates = Certificates(folder) if arguments.tls else None
    proxy = Tinyproxy(folder) if arguments.proxy else None
    sandbox = Sandbox("--quota-limit", "0", certificates=certificates)
    numbers = os.path.join(folder, "numbers.txt")
    write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows, numbers)
    extra, bare_environment = "", {}
    if certificates:
        extra += "http:\n  ca_file: %s\n" % certificates.ca
        bare_environment["BARE_CA_FILE"] = certificates.ca
    if proxy:
        extra += "  proxy: http://127.0.0.1:%d\n" % proxy.port if certificates else "http: { proxy: http://127.0.0.1:%d }\n" % proxy.port
        bare_environment["BARE_PROXY"] = "127.0.0.1:%d" % proxy.port
    job = write_job(folder, sandbox.origin, arguments.concurrency, extra)
    runner, baseline, memory, handshakes, runner_cpu, bare_cpu, proxy_cpu = [], [], [], [], [], [], []
    try:
        for run in range(arguments.runs):
            shutil.rmtree(os.path.join(folder, "out"), ignore_errors=True)
            connections = sandbox.stats().get("connections", 0) if certificates else 0
            proxy_before = proxy.cpu_seconds() if proxy else 0
            before = os.times()
            status, elapsed, rss = run_job(job, "--no-progress")
            after = os.times()
            assert status == 0, "run failed with %d" % status
            runner.append(arguments.rows / elapsed)
            memory.append(rss)
            runner_cpu.append(after.children_user + after.children_system - before.children_user - before.children_system)
            if certificates:
                # The stats request itself is one more connection: not counted.
                handshakes.append(sandbox.stats()["connections"] - connections - 1)
            if proxy:
                proxy_cpu.append(proxy.cpu_seconds() - proxy_before)
            before = os.times()
            bare = bare_client("number-verify", sandbox.origin, numbers, arguments.concurrency, bare_environment)
            after = os.times()
            baseline.append(bare["requests"] / bare["wall_seconds"])
            bare_cpu.append(after.children_user + after.children_system - before.children_user - before.children_system)
            print("  run %d: runner %.0f rows/s (%.2f s, %.1f CPU-s, peak %.0f MiB%s%s), bare client %.0f requests/s (%.1f CPU-s)"
                  % (run + 1, runner[-1], elapsed, runner_cpu[-1], rss,
                     ", %d TLS handshakes" % handshakes[-1] if certificates else "",
                     ", proxy %.1f CPU-s" % proxy_cpu[-1] if proxy else "", baseline[-1], bare_cpu[-1]))
    finally:
        sandbox.stop()
        if proxy:
            proxy.stop()
        shutil.rmtree(folder)
    figures = dict(rows=arguments.rows, concurrency=arguments.concurrency, runs=arguments.runs, tls=arguments.tls,
                   proxy=arguments.proxy, runner_rows_per_second=round(statistics.median(runner)),
                   bare_client_requests_per_second=round(statistics.median(baseline)),
                   ratio=round(statistics.median(runner) / statistics.median(baseline), 3), target_ratio=0.7,
                   runner_all=[round(x) for x in runner], bare_client_all=[round(x) for x in baseline],
                   runner_cpu_seconds=round(statistics.median(runner_cpu), 2),
                   bare_client_cpu_seconds=round(statistics.median(bare_cpu), 2), peak_rss_mib=round(max(memory), 1))
    if certificates:
        figures.update(tls_handshakes_per_run=max(handshakes), handshake_target=arguments.concurrency + 1)
    if proxy:
        figures.update(proxy_cpu_seconds=round(statistics.median(proxy_cpu), 2))
    report("throughput", **figures)


def memory(arguments):
    """Peak RSS of whole runs (intake, lookups, outputs) of large manifests against the sandbox."""
    sandbox = Sandbox("--quota-limit", "0")
    peaks = {}
    try:
        for rows in arguments.sizes:
            folder = tempfile.mkdtemp(prefix="bench-memory-")
            write_manifest(os.path.join(folder, "manifest.csv"), rows)
            job = write_job(folder, sandbox.origin, arguments.concurrency)
            status, elapsed, rss = run_job(job, "--no-progress")
            assert status == 0, "run failed with %d" % status
            peaks[rows] = rss
            report("memory", rows=rows, peak_rss_mib=round(rss, 1), seconds=round(elapsed, 1),
                   rows_per_second=round(rows / elapsed))
            shutil.rmtree(folder)
    finally:
        sandbox.stop()
    if len(peaks) > 1:
        smallest, largest = min(peaks), max(peaks)
        report("memory-growth", rows=[smallest, largest], peak_rss_mib=[round(peaks[smallest], 1), round(peaks[largest], 1)],
               growth=round(peaks[largest] / peaks[smallest] - 1, 3), target_growth=0.10, target_peak_mib=150)


def status_counts(job):
    """`batch-runner status --json`: reads the state only, takes no lock."""
    output = subprocess.run([BINARY, "status", job, "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True).stdout
    try:
        return json.loads(output)
    except ValueError:
        return None


def resume(arguments):
    """SIGKILL halfway through a run, then resume: time from the new process's start to its first request (and
    first lookup), and numbers looked up twice, from the sandbox's request log."""
    folder = tempfile.mkdtemp(prefix="bench-resume-")
    log = os.path.join(folder, "requests.jsonl")
    sandbox = Sandbox("--quota-limit", "0", "--request-log", log)
    try:
        write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
        job = write_job(folder, sandbox.origin, arguments.concurrency)
        environment = dict(os.environ, KPN_CLIENT_ID="sandbox-client", KPN_CLIENT_SECRET="sandbox-secret")
        command = [BINARY, "run", job, "--log-level", "warning", "--no-progress"]
        first = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
        while True:
            time.sleep(0.2)
            counts = status_counts(job)
            if counts and counts.get("succeeded", 0) >= arguments.rows // 2:
                break
            if first.poll() is not None:
                raise RuntimeError("the run ended before it was halfway")
        first.kill()
        first.wait()
        killed_at = time.time()
        done_at_kill = status_counts(job)["succeeded"]
        time.sleep(1)  # let requests the dead run had on the wire land in the log
        started = time.time()
        status, elapsed, _ = run_job(job, "--no-progress")
        assert status == 0, "the resumed run failed with %d" % status
    finally:
        sandbox.stop()
    entries = [json.loads(line) for line in open(log)]
    new = [entry for entry in entries if entry["time"] >= started]
    lookups = [entry for entry in new if entry["endpoint"] == "POST /insights"]
    served = {}
    for entry in entries:
        if entry["endpoint"] == "POST /insights" and entry["outcome"] == "ok":
            served[entry["subject"]] = served.get(entry["subject"], 0) + 1
    twice = sum(1 for count in served.values() if count > 1)
    report("resume", rows=arguments.rows, concurrency=arguments.concurrency, succeeded_at_kill=done_at_kill,
           seconds_to_first_request=round(new[0]["time"] - started, 3),
           seconds_to_first_lookup=round(lookups[0]["time"] - started, 3), target_seconds=2,
           numbers_looked_up=len(served), numbers_looked_up_twice=twice, target_twice=arguments.concurrency,
           resumed_run_seconds=round(elapsed, 1), kill_to_restart_seconds=round(started - killed_at, 1))
    shutil.rmtree(folder)


def export(arguments):
    """idscan-reports of `rows` simple reports of 100 KB from the sandbox, in MB/s of PDF, against the bare client
    loop downloading the same reports with the same concurrency; alternating, medians."""
    sandbox = Sandbox("--quota-limit", "0", "--report-bytes", str(arguments.report_bytes))
    folder = tempfile.mkdtemp(prefix="bench-export-")
    pairs = os.path.join(folder, "pairs.txt")
    with open(os.path.join(folder, "manifest.csv"), "w") as manifest, open(pairs, "w") as plain:
        manifest.write("transaction_id,result_id\n")
        for row in range(arguments.rows):
            pair = "t%08d-bench,r%08d-bench" % (row, row)
            manifest.write(pair + "\n")
            plain.write(pair + "\n")
    job = os.path.join(folder, "job.yml")
    with open(job, "w") as out:
        out.write("""kind: idscan-reports
manifest: manifest.csv
output: out
columns: { transaction_id: transaction_id, result_id: result_id }
concurrency: %d
endpoints: { base: %s/id-scan/v1 }
idscan: { report: simple }
""" % (arguments.concurrency, sandbox.origin))
    environment = dict(os.environ, IDSCAN_KEY_ID="3b438437-04a4-40bb-8389-54bb02766fba",
                       IDSCAN_SECRET="sandbox-idscan-secret")
    runner, baseline = [], []
    megabytes = arguments.rows * arguments.report_bytes / 1e6
    try:
        for run in range(arguments.runs):
            shutil.rmtree(os.path.join(folder, "out"), ignore_errors=True)
            start = time.monotonic()
            status = subprocess.run([BINARY, "run", job, "--log-level", "warning", "--no-progress"], env=environment,
                                    stdout=subprocess.DEVNULL).returncode
            elapsed = time.monotonic() - start
            assert status == 0, "export failed with %d" % status
            written = sum(os.path.getsize(os.path.join(folder, "out", "reports", name))
                          for name in os.listdir(os.path.join(folder, "out", "reports")) if name.endswith(".pdf"))
            assert written == arguments.rows * arguments.report_bytes, "the export wrote %d bytes" % written
            runner.append(megabytes / elapsed)
            bare = bare_client("idscan-reports", sandbox.origin, pairs, arguments.concurrency)
            baseline.append(bare["bytes"] / 1e6 / bare["wall_seconds"])
            print("  run %d: runner %.1f MB/s (%.2f s), bare client %.1f MB/s" % (run + 1, runner[-1], elapsed, baseline[-1]))
    finally:
        sandbox.stop()
        shutil.rmtree(folder)
    report("export", reports=arguments.rows, report_bytes=arguments.report_bytes, concurrency=arguments.concurrency,
           runs=arguments.runs, runner_mb_per_second=round(statistics.median(runner), 1),
           bare_client_mb_per_second=round(statistics.median(baseline), 1),
           ratio=round(statistics.median(runner) / statistics.median(baseline), 3),
           runner_all=[round(x, 1) for x in runner], bare_client_all=[round(x, 1) for x in baseline])


def _fixed(limit, seconds, *extra):
    return ["--quota-limit", str(limit), "--quota-interval", str(seconds), "--quota-time-unit", "second",
            "--no-quota-headers", *extra]


QUOTA_VARIANTS = {
    # name: (sandbox options, runner options, rows, limit per window, window seconds)
    "headers": (["--quota-limit", "600"], [], 2000, 600, 60),
    "skew-ahead": (["--quota-limit", "600"], ["--clock-offset=300"], 2000, 600, 60),
    "skew-behind": (["--quota-limit", "600"], ["--clock-offset=-300"], 2000, 600, 60),
    # Without quota headers (issue 18): eight windows or more of each shape, with and without Retry-After.
    "no-headers": (["--quota-limit", "75", "--no-quota-headers"], [], 600, 75, 60),
    "no-headers-retry-after": (["--quota-limit", "75", "--no-quota-headers", "--retry-after"], [], 600, 75, 60),
    "no-headers-10s": (_fixed(20, 10), [], 600, 20, 10),
    "no-headers-10s-retry-after": (_fixed(20, 10, "--retry-after"), [], 600, 20, 10),
    "no-headers-5m": (_fixed(600, 300), [], 4800, 600, 300),
    "no-headers-1h": (_fixed(1000, 3600), [], 8000, 1000, 3600),
    "spike-arrest": (["--quota-limit", "0", "--spike-arrest", "75"], [], 600, 75, 60),
    "spike-arrest-retry-after": (["--quota-limit", "0", "--spike-arrest", "75", "--retry-after"], [], 600, 75, 60),
    # Every gateway shape (issue 30): the grid's end-to-end corners. A sixth element is YAML added to the job, a
    # seventh the ideal wall time when it is not rows / limit x window.
    "fixed-40-10s": (_fixed(40, 10), [], 800, 40, 10),
    "spike-40-10s": (["--quota-limit", "0", "--spike-arrest", "240"], [], 800, 40, 10),
    "spike-1-min": (["--quota-limit", "0", "--spike-arrest", "1"], [], 10, 1, 60),
    "token-bucket-5-20": (["--quota-limit", "0", "--token-bucket", "5/20"], [], 1000, 5, 1, "", (1000 - 20) / 5),
    "sliding-60-min": (["--quota-limit", "0", "--sliding-window", "60/60"], [], 600, 60, 60),
    "concurrency-8": (["--quota-limit", "0", "--concurrency-limit", "8", "--latency-ms", "200"], [], 800, 8, 0.2, "",
                      800 * 0.2 / 8),
    "share-0.8": (["--quota-limit", "100", "--quota-interval", "10", "--quota-time-unit", "second"], [], 800, 80, 10,
                  "quota: { share: 0.8 }"),
}


def quota(arguments):
    """Quota adherence: 429s, calls per full window against the limit, wall time against the ideal."""
    sandbox_options, runner_options, rows, limit, window, *more = QUOTA_VARIANTS[arguments.variant]
    job_extra, ideal_seconds = (list(more) + ["", None])[:2]
    rows = arguments.rows or rows
    folder = tempfile.mkdtemp(prefix="bench-quota-")
    log = os.path.join(folder, "requests.jsonl")
    sandbox = Sandbox(*sandbox_options, "--request-log", log)
    try:
        write_manifest(os.path.join(folder, "manifest.csv"), rows)
        job = write_job(folder, sandbox.origin, arguments.concurrency, extra=job_extra)
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
        if start is None or entry["time"] >= start + window:
            start = entry["time"]
            windows.append(0)
        windows[-1] += 1
    full = windows[:-1]
    ideal = ideal_seconds or rows / limit * window
    report("quota-" + arguments.variant, rows=rows, limit=limit, window_seconds=window, requests=len(calls),
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


class Postgres:
    """A throwaway PostgreSQL cluster (Debian's postgresql) on a free port, as the tests make one: initdb as the
    `postgres` user, the runner logging in as a non-superuser `runner` who owns database `batch`.
    pg_stat_statements counts the statements the runner sends (each one round trip)."""

    def __init__(self, folder):
        import glob
        import pwd
        import socket
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.folder = os.path.join(folder, "pg")
        os.chmod(folder, 0o755)  # mkdtemp makes it 0700: the postgres user must reach its own folder inside
        os.makedirs(self.folder)
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.run("initdb", "-D", self.folder + "/data", "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-sync")
        self.run("pg_ctl", "-D", self.folder + "/data", "-l", self.folder + "/log", "-w", "-o",
                 "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 "
                 "-c shared_preload_libraries=pg_stat_statements" % (self.port, self.folder), "start")
        self.psql("CREATE ROLE runner LOGIN PASSWORD 'runner-secret'")
        self.psql("CREATE DATABASE batch OWNER runner")
        self.psql("CREATE EXTENSION pg_stat_statements", database="batch")
        self.url = "postgresql://runner@127.0.0.1:%d/batch?sslmode=disable" % self.port

    def run(self, tool, *arguments):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + [os.path.join(self.bin, tool), *arguments], check=True, cwd=self.folder,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout

    def psql(self, sql, database="postgres"):
        return self.run("psql", "-h", self.folder, "-p", str(self.port), "-U", "postgres", "-d", database, "-qAt",
                        "-v", "ON_ERROR_STOP=1", "-c", sql).strip()

    def statements(self):
        """Statements executed in database batch so far (BEGIN and COMMIT included)."""
        return int(self.psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d "
                             "ON d.oid = s.dbid WHERE d.datname = 'batch'", database="batch"))

    def reset_statements(self):
        self.psql("SELECT pg_stat_statements_reset()", database="batch")

    def stop(self):
        self.run("pg_ctl", "-D", self.folder + "/data", "-m", "immediate", "-w", "stop")


def start_worker(job, *options):
    environment = dict(os.environ, KPN_CLIENT_ID="sandbox-client", KPN_CLIENT_SECRET="sandbox-secret",
                       PGPASSWORD="runner-secret")
    return subprocess.Popen([BINARY, "run", job, "--log-level", "warning", "--no-progress", *options],
                            env=environment, stdout=subprocess.DEVNULL)


def postgres(arguments):
    """The PostgreSQL store, measured against its baselines in the same run (see each variant)."""
    folder = tempfile.mkdtemp(prefix="bench-postgres-")
    server = Postgres(folder)
    try:
        {"throughput": postgres_throughput, "intake": postgres_intake, "workers": postgres_workers,
         "quota": postgres_quota, "quota-no-headers": lambda *given: postgres_quota(*given, headers=False),
         "takeover": postgres_takeover}[arguments.variant](arguments, folder, server)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def shared_job(folder, name, origin, concurrency, server, campaign, extra=""):
    return write_job(os.path.join(folder, name) if os.path.isdir(os.path.join(folder, name)) else _mkdir(folder, name),
                     origin, concurrency, "state: %s\ncampaign: %s\n%s" % (server.url, campaign, extra), manifest="../manifest.csv")


def _mkdir(folder, name):
    path = os.path.join(folder, name)
    os.makedirs(path)
    return path


def postgres_throughput(arguments, folder, server):
    """One worker on PostgreSQL against one on SQLite, the same rows, no quota, alternating; medians. Also the
    statements (round trips) the PostgreSQL worker sent per row."""
    write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
    sandbox = Sandbox("--quota-limit", "0")
    try:
        sqlite_times, postgres_times, per_row = [], [], []
        for run in range(arguments.runs):
            sqlite_folder = os.path.join(folder, "sqlite%d" % run)
            os.makedirs(sqlite_folder)
            job = write_job(sqlite_folder, sandbox.origin, arguments.concurrency, manifest="../manifest.csv")
            status, elapsed, _ = run_job(job, "--no-progress")
            assert status == 0, "the SQLite run exited %d" % status
            sqlite_times.append(elapsed)
            job = shared_job(folder, "pg%d" % run, sandbox.origin, arguments.concurrency, server, "throughput%d" % run)
            server.reset_statements()
            environment = dict(PGPASSWORD="runner-secret")
            os.environ.update(environment)
            status, elapsed, _ = run_job(job, "--no-progress")
            assert status == 0, "the PostgreSQL run exited %d" % status
            postgres_times.append(elapsed)
            per_row.append(server.statements() / arguments.rows)
    finally:
        sandbox.stop()
    sqlite_median, postgres_median = statistics.median(sqlite_times), statistics.median(postgres_times)
    report("postgres-throughput", rows=arguments.rows, runs=arguments.runs, concurrency=arguments.concurrency,
           sqlite_rows_per_second=round(arguments.rows / sqlite_median), postgres_rows_per_second=round(arguments.rows / postgres_median),
           ratio=round(sqlite_median / postgres_median, 3), target_ratio=0.5,
           statements_per_row=round(statistics.median(per_row), 3),
           sqlite_all=[round(x, 2) for x in sqlite_times], postgres_all=[round(x, 2) for x in postgres_times])


def postgres_intake(arguments, folder, server):
    """Manifest intake into PostgreSQL (--limit 0) against `psql \\copy` of the same file into a table of the same
    database, alternating; medians."""
    rows = arguments.rows if arguments.rows != 100_000 else 1_000_000
    manifest = os.path.join(folder, "manifest.csv")
    write_manifest(manifest, rows)
    runner, baseline = [], []
    os.environ["PGPASSWORD"] = "runner-secret"
    for run in range(arguments.runs):
        job = shared_job(folder, "intake%d" % run, "http://127.0.0.1:9", 8, server, "intake%d" % run)
        status, elapsed, _ = run_job(job, "--limit", "0", "--no-progress")
        assert status == 0, "the intake run exited %d" % status
        runner.append(elapsed)
        table = "copy_baseline_%d" % run
        server.psql("CREATE TABLE %s (customer_id text, msisdn text)" % table, database="batch")
        start = time.monotonic()
        server.psql("\\copy %s FROM '%s' WITH (FORMAT csv, HEADER true)" % (table, manifest), database="batch")
        baseline.append(time.monotonic() - start)
    median_runner, median_baseline = statistics.median(runner), statistics.median(baseline)
    report("postgres-intake", rows=rows, runs=arguments.runs, runner_seconds=round(median_runner, 2),
           psql_copy_seconds=round(median_baseline, 2), ratio=round(median_runner / median_baseline, 2), target_ratio=2,
           runner_all=[round(x, 2) for x in runner], psql_copy_all=[round(x, 2) for x in baseline])


def postgres_workers(arguments, folder, server):
    """Throughput of 1, 2 and 3 workers on one campaign, no quota (rows per second of the whole campaign)."""
    write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
    sandbox = Sandbox("--quota-limit", "0")
    figures = {}
    try:
        for workers in (1, 2, 3):
            jobs = [shared_job(folder, "w%d-%d" % (workers, n), sandbox.origin, arguments.concurrency, server, "workers%d" % workers)
                    for n in range(workers)]
            start = time.monotonic()
            processes = [start_worker(job) for job in jobs]
            statuses = [process.wait() for process in processes]
            elapsed = time.monotonic() - start
            assert statuses == [0] * workers, "worker exits %s" % statuses
            figures["workers_%d_rows_per_second" % workers] = round(arguments.rows / elapsed)
    finally:
        sandbox.stop()
    report("postgres-workers", rows=arguments.rows, concurrency_each=arguments.concurrency, **figures)


def postgres_quota(arguments, folder, server, headers=True):
    """Three workers, one quota: with headers 300 per 10 s (calls per full window against the limit); without
    (`quota-no-headers`), a fixed window of 40 per 10 s that answers only 429s, which the workers learn together.
    429s, and wall time against the ideal."""
    limit, window = (300, 10) if headers else (40, 10)
    rows = arguments.rows if arguments.rows != 100_000 else (3_000 if headers else 800)
    write_manifest(os.path.join(folder, "manifest.csv"), rows)
    log = os.path.join(folder, "requests.jsonl")
    sandbox = Sandbox(*(["--quota-limit", str(limit), "--quota-interval", str(window), "--quota-time-unit", "second"]
                        + ([] if headers else ["--no-quota-headers"])), "--request-log", log)
    try:
        jobs = [shared_job(folder, "q%d" % n, sandbox.origin, 8, server, "quota") for n in range(3)]
        start = time.monotonic()
        statuses = [process.wait() for process in [start_worker(job) for job in jobs]]
        elapsed = time.monotonic() - start
        assert statuses == [0, 0, 0], "worker exits %s" % statuses
    finally:
        sandbox.stop()
    calls = [json.loads(line) for line in open(log)]
    calls = [entry for entry in calls if "token" not in entry["endpoint"]]
    limited = sum(1 for entry in calls if entry["outcome"] == "rate_limited")
    windows, start_time = [], None
    for entry in sorted(calls, key=lambda entry: entry["time"]):
        if entry["outcome"] == "rate_limited":
            continue
        if start_time is None or entry["time"] >= start_time + window:
            start_time = entry["time"]
            windows.append(0)
        windows[-1] += 1
    full = windows[:-1]
    ideal = rows / limit * window
    report("postgres-quota" + ("" if headers else "-no-headers"), rows=rows, workers=3, limit=limit, window_seconds=window,
           requests=len(calls), rate_limited=limited, rate_limited_share=round(limited / max(len(calls), 1), 4),
           calls_per_full_window=full, min_full_window_share=round(min(full) / limit, 3) if full else None,
           wall_seconds=round(elapsed, 1), ideal_seconds=round(ideal, 1), wall_over_ideal=round(elapsed / ideal, 2))


def postgres_takeover(arguments, folder, server):
    """SIGKILL one of two workers; seconds until the rows it held are being worked again, against its lease."""
    lease = 10
    write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
    sandbox = Sandbox("--quota-limit", "0", "--latency-ms", "2")
    try:
        jobs = [shared_job(folder, "t%d" % n, sandbox.origin, 8, server, "takeover", "lease: %ds\n" % lease) for n in range(2)]
        processes = [start_worker(job) for job in jobs]
        while sandbox.stats()["requests"] < arguments.rows // 5:
            time.sleep(0.05)
        victim = processes[0]
        held = "SELECT count(*) FROM batch_runner_work w JOIN batch_runner_workers k ON k.id = w.owner WHERE k.pid = %d AND w.state = 0" % victim.pid
        victim.kill()
        killed_at = time.monotonic()
        victim.wait()
        taken = None
        while processes[1].poll() is None:
            if int(server.psql(held, database="batch")) == 0:
                taken = time.monotonic() - killed_at
                break
            time.sleep(0.1)
        processes[1].wait()
    finally:
        sandbox.stop()
    report("postgres-takeover", lease_seconds=lease, seconds_until_taken_over=round(taken, 1) if taken else None,
           ratio_to_lease=round(taken / lease, 2) if taken else None, target_ratio=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=["intake", "throughput", "memory", "resume", "quota", "export", "postgres"])
    parser.add_argument("--rows", type=int, nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--variant", choices=sorted(QUOTA_VARIANTS) + ["throughput", "intake", "workers", "quota", "quota-no-headers", "takeover"], default="headers")
    parser.add_argument("--report-bytes", type=int, default=100_000)
    parser.add_argument("--tls", action="store_true", help="throughput over HTTPS, with a test CA both trust")
    parser.add_argument("--proxy", action="store_true", help="throughput through tinyproxy (give --tls as well)")
    parser.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    arguments = parser.parse_args()
    if not arguments.no_build:
        build()
    default_rows = {"intake": [1_000_000], "throughput": [100_000], "memory": [1_000_000, 4_000_000],
                    "resume": [1_000_000], "export": [10_000], "quota": [None], "postgres": [100_000]}[arguments.benchmark]
    arguments.sizes = arguments.rows or default_rows
    arguments.rows = arguments.sizes[0]
    if arguments.benchmark == "quota" and arguments.concurrency == 32:
        arguments.concurrency = 8
    {"intake": intake, "throughput": throughput, "memory": memory, "resume": resume, "quota": quota,
     "export": export, "postgres": postgres}[arguments.benchmark](arguments)


if __name__ == "__main__":
    main()
