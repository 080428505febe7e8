#!/usr/bin/env python3
"""Chaos soak for several workers on one PostgreSQL campaign (run by hand through scripts/chaos.sh, not in CI).

N workers work one campaign against one sandbox (30 ms latency, no quota) and one throwaway PostgreSQL cluster.
Every 2-6 s (seeded) one random fault: kill -9 a worker, SIGSTOP one for 0.5-3 leases, terminate one worker's
PostgreSQL backends, restart PostgreSQL, lock batch_runner_work for 3 s, SIGTERM a worker. A worker that exits
is started again (same job, same --output). Then every worker gets SIGTERM, one drain worker finishes the
campaign, and the sandbox's request log is the ledger for the checks (see `check`).
"""

import argparse, collections, csv, glob, json, os, random, re, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
sys.dont_write_bytecode = True  # no __pycache__ left in Benchmarks/
import bench  # noqa: E402  (write_job, write_manifest, number, Sandbox, Postgres)

LEASE, STATE_TIMEOUT, GRACE, MARGIN = 3, 5, 10, 5
TERM_HANG = STATE_TIMEOUT + GRACE + MARGIN  # 20 s: a worker still alive this long after SIGTERM hangs
STALL, DRAIN_STALL = 30, 120  # no request at all for this long while workers live: a hang (the drain also
                              # writes the whole campaign's outputs at the end: more slack)
CONCURRENCY, DRAIN_CONCURRENCY = 8, 64
FAULTS = ["kill", "stop", "backends", "pg-restart", "lock", "term"]
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
SUDO = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
T0 = time.monotonic()


def log(message):
    print("[%7.1f] %s" % (time.monotonic() - T0, message), flush=True)


class Worker:
    """One `batch-runner run` slot: started again under the same name and output folder after each exit."""

    def __init__(self, name, job, folder, environment, verbose=False):
        self.name, self.job, self.environment, self.verbose = name, job, environment, verbose
        self.output, self.log = os.path.join(folder, "out-" + name), os.path.join(folder, name + ".log")
        self.process, self.starts = None, 0

    def start(self):
        self.stopped_until = self.term_at = None
        self.expect_kill = False
        self.starts += 1
        with open(self.log, "a") as err:
            err.write("--- start %d\n" % self.starts)
            self.process = subprocess.Popen(  # own session: a Ctrl-C reaches the driver only
                [bench.BINARY, "run", self.job, "--output", self.output]
                + (["--log-level", "info"] if self.verbose else ["--no-progress", "--log-level", "warning"]),
                env=self.environment, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def ready(self):  # a fair target for a fault: running, not stopped, not already told to end
        return self.alive() and not self.stopped_until and not self.term_at and not self.expect_kill

    def signal(self, number):
        try:
            os.kill(self.process.pid, number)
        except ProcessLookupError:
            pass

    def kill(self):
        self.expect_kill = True
        self.signal(signal.SIGKILL)
        self.signal(signal.SIGCONT)  # a stopped process dies only once continued


class Chaos:
    def __init__(self, arguments, folder):
        self.arguments, self.folder, self.rng = arguments, folder, random.Random(arguments.seed)
        self.faults, self.exits, self.hangs = collections.Counter(), [], []  # exits: (name, code, expected kill)
        self.background, self.workers, self.server, self.sandbox = [], [], None, None  # background: lock psqls
        self.requests, self.progress_at, self.stats_at, self.log_offset = -1, time.monotonic(), 0, 0
        self.finished = False  # a worker exited 0: the campaign is done
        self.unexpected = self.hang_kills = self.reached = 0

    def setup(self):
        arguments, folder = self.arguments, self.folder
        bench.BINARY = os.path.join(folder, "batch-runner")  # a copy: the build folder may be rebuilt meanwhile
        shutil.copy2(arguments.binary, bench.BINARY)
        self.server = bench.Postgres(folder)
        self.request_log = os.path.join(folder, "requests.jsonl")
        self.sandbox = bench.Sandbox("--latency-ms", "30", "--quota-limit", "0", "--request-log", self.request_log)
        log("sandbox %s, PostgreSQL on 127.0.0.1:%d, folder %s" % (self.sandbox.origin, self.server.port, folder))
        bench.write_manifest(os.path.join(folder, "manifest.csv"), arguments.rows)
        extra = "state: %s\ncampaign: chaos\nlease: %ds\n%squota: { on_exhausted: wait, max_wait: 15m }\n" % (
            self.server.url, LEASE, "" if arguments.no_state_timeout else "state_timeout: %ds\n" % STATE_TIMEOUT)
        environment = {name: value for name, value in os.environ.items() if "proxy" not in name.lower()}
        environment.update(KPN_CLIENT_ID="sandbox-client", KPN_CLIENT_SECRET="sandbox-secret", PGPASSWORD="runner-secret")
        jobs = {}
        for name, concurrency in (("job", CONCURRENCY), ("drain", DRAIN_CONCURRENCY)):  # the same campaign
            os.makedirs(os.path.join(folder, name))
            jobs[name] = bench.write_job(os.path.join(folder, name), self.sandbox.origin, concurrency, extra,
                                         manifest="../manifest.csv")
        self.workers = [Worker("w%d" % n, jobs["job"], folder, environment) for n in range(1, arguments.workers + 1)]
        self.drainer = Worker("drain", jobs["drain"], folder, environment, verbose=True)  # its progress, every 30 s

    def psql(self, sql, background=False):
        """psql as the superuser; with timeouts, so a fault never wedges the driver itself."""
        command = SUDO + [os.path.join(self.server.bin, "psql"), "-h", self.server.folder, "-p", str(self.server.port),
                          "-U", "postgres", "-d", "batch", "-qAt", "-c", sql]
        if background:
            return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              timeout=15).stdout.strip()

    def fault(self):
        kind, ready = self.rng.choice(FAULTS), [worker for worker in self.workers if worker.ready()]
        if kind in ("kill", "stop", "backends", "term") and not ready:
            kind = self.rng.choice(["pg-restart", "lock"])
        worker = self.rng.choice(ready) if ready else None
        self.faults[kind] += 1
        # The workers a fault reaches: one for a fault aimed at a worker, every live one for the database's.
        self.reached += 1 if worker and kind in ("kill", "stop", "backends", "term") else sum(w.alive() for w in self.workers)
        if kind == "kill":
            log("fault kill -9 %s (pid %d)" % (worker.name, worker.process.pid))
            worker.kill()
        elif kind == "stop":
            seconds = self.rng.uniform(0.5, 3) * LEASE
            log("fault SIGSTOP %s for %.1f s" % (worker.name, seconds))
            worker.signal(signal.SIGSTOP)
            worker.stopped_until = time.monotonic() + seconds
        elif kind == "backends":
            # Each worker names its sessions batch-runner[<pid>] (and its heartbeat's batch-runner[<pid>] heartbeat).
            killed = self.psql("SET statement_timeout = '5s'; SELECT count(pg_terminate_backend(pid)) FROM "
                               "pg_stat_activity WHERE application_name LIKE 'batch-runner[%d]%%'" % worker.process.pid)
            log("fault terminate %s's backends: %s terminated" % (worker.name, killed or "?"))
        elif kind == "pg-restart":
            mode, started = self.rng.choice(["fast", "immediate"]), time.monotonic()
            data = os.path.join(self.server.folder, "data")
            result = subprocess.run(SUDO + [os.path.join(self.server.bin, "pg_ctl"), "-D", data, "-l",
                                            self.server.folder + "/log", "-m", mode, "-w", "restart"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
            log("fault PostgreSQL restart -m %s: %.1f s%s" % (mode, time.monotonic() - started,
                                                                "" if result.returncode == 0 else " FAILED " + result.stdout[-300:]))
        elif kind == "lock":
            log("fault LOCK TABLE batch_runner_work for 3 s")
            self.background.append(self.psql("BEGIN; SET lock_timeout = '5s'; LOCK TABLE batch_runner_work IN "
                                             "ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;", background=True))
        elif kind == "term":
            log("fault SIGTERM %s" % worker.name)
            worker.term_at = time.monotonic()
            worker.signal(signal.SIGTERM)

    def tick(self, workers, restart):
        """Every 0.1 s: SIGCONT when due, hangs after SIGTERM, exits (restarted during the soak), progress."""
        now = time.monotonic()
        for worker in workers:
            if worker.stopped_until and now >= worker.stopped_until:
                worker.signal(signal.SIGCONT)
                worker.stopped_until = None
            if worker.term_at and worker.alive() and now - worker.term_at > TERM_HANG and not worker.expect_kill:
                self.hang("%s still alive %d s after SIGTERM: killed" % (worker.name, TERM_HANG), [worker])
            if worker.process is None or worker.process.poll() is None:
                continue
            code = 128 - worker.process.returncode if worker.process.returncode < 0 else worker.process.returncode
            self.exits.append((worker.name, code, worker.expect_kill))
            worker.process = None
            if code not in (0, 3, 75) and not (code == 137 and worker.expect_kill):
                self.unexpected += 1
                log("UNEXPECTED exit %d of %s; see %s" % (code, worker.name, worker.log))
                if self.requests <= 0 or self.unexpected > 20:  # a broken job or binary: no point going on
                    raise RuntimeError("%s exited %d; its log ends:\n%s" % (worker.name, code, open(worker.log).read()[-1500:]))
            if code == 0 and restart and not self.finished:
                self.finished = True
                log("%s exited 0: the campaign is finished early (give more --rows)" % worker.name)
            if restart and not self.finished:
                worker.start()
        self.background = [process for process in self.background if process.poll() is None]
        if now - self.stats_at >= 1:  # progress: any request at all reaching the sandbox
            self.stats_at = now
            # The sandbox's request log, one line per answer, read from where the last look ended. (Its stats
            # endpoint encodes every subject served: past half a million, on a loaded machine, it took longer than
            # any timeout, and the soak counted stalls that the log shows never happened.)
            try:
                with open(self.request_log, "rb") as requests_file:
                    requests_file.seek(self.log_offset)
                    chunk = requests_file.read()
                self.log_offset += len(chunk)
                requests = max(self.requests, 0) + chunk.count(b"\n")
            except OSError:
                requests = self.requests
            if requests != self.requests:
                self.requests, self.progress_at = requests, now

    def hang(self, what, workers):
        self.hangs.append(what)
        log("HANG: " + what)
        self.diagnose(workers)
        for worker in workers:
            if worker.alive():
                worker.kill()
                self.hang_kills += 1

    def diagnose(self, workers):
        """What a hung worker was doing, before it is killed: its process state and CPU time, and its sessions."""
        for worker in workers:
            if not worker.alive():
                continue
            try:
                with open("/proc/%d/stat" % worker.process.pid) as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                log("  %s pid %d: state %s, utime %s, stime %s, threads %s" % (
                    worker.name, worker.process.pid, fields[0], fields[11], fields[12], fields[17]))
            except OSError as error:
                log("  %s: %s" % (worker.name, error))
        try:
            sessions = self.psql(
                "SELECT application_name, state, coalesce(wait_event_type, '-'), coalesce(wait_event, '-'), "
                "round(extract(epoch FROM now() - query_start)::numeric, 1), left(regexp_replace(query, '\\s+', ' ', 'g'), 120) "
                "FROM pg_stat_activity WHERE application_name LIKE 'batch-runner%'")
            for line in (sessions or "(no session)").splitlines():
                log("  session " + line)
        except subprocess.TimeoutExpired:
            log("  pg_stat_activity did not answer within 15 s")

    def run(self, workers, restart, until, stall):
        """Ticks until `until()`; a stall (no request for `stall` s while any of `workers` lives) is a hang."""
        while not until():
            self.tick(workers, restart)
            if stall and any(w.alive() for w in workers) and time.monotonic() - self.progress_at > stall:
                if self.writing_outputs(workers):
                    log("no request for %d s: every row is finished, the drain writes the outputs" % stall)
                else:
                    self.hang("no request reached the sandbox for %d s while workers live: killed them" % stall, workers)
                self.progress_at = time.monotonic()
            time.sleep(0.1)

    def writing_outputs(self, workers):
        """Whether the only worker left is the drain with nothing pending (it writes the campaign's outputs, which
        for a million rows takes a while and sends nothing)."""
        if workers != [getattr(self, "drainer", None)]:
            return False
        try:
            pending = self.psql("SELECT count(*) FROM batch_runner_work WHERE campaign = 'chaos' AND state IN (0, 4)")
        except subprocess.TimeoutExpired:
            return False
        return (pending or "").strip() == "0"

    def soak(self):
        for worker in self.workers:
            worker.start()
        log("%d workers started on %d rows; waiting for the first request (intake)" % (len(self.workers), self.arguments.rows))
        started = time.monotonic()
        self.run(self.workers, True, lambda: self.requests > 0 or time.monotonic() - started > 900, None)
        if self.requests <= 0:
            raise RuntimeError("no request reached the sandbox in 15 minutes")
        start = time.monotonic()
        end, self.next_fault, self.next_report = start + self.arguments.minutes * 60, start + self.rng.uniform(2, 6), start + 30

        def until():  # the soak's clock: faults and a line of progress every 30 s
            now = time.monotonic()
            if now >= self.next_fault:
                try:
                    self.fault()
                except (subprocess.TimeoutExpired, OSError) as error:
                    log("  the fault failed: %s" % error)
                self.next_fault = time.monotonic() + self.rng.uniform(2, 6)
            if now >= self.next_report:
                self.next_report += 30
                log("%d requests, %d faults, %d exits, %d hangs" % (self.requests, sum(self.faults.values()),
                                                                  len(self.exits), len(self.hangs)))
            return now >= end or self.finished
        self.run(self.workers, True, until, STALL)
        log("soak over after %.0f s: SIGTERM to every worker" % (time.monotonic() - start))
        for worker in self.workers:
            if worker.alive():
                worker.signal(signal.SIGCONT)
                worker.stopped_until, worker.term_at = None, time.monotonic()
                worker.signal(signal.SIGTERM)
        self.run(self.workers, False, lambda: all(w.process is None for w in self.workers) and not self.background, None)

    def drain(self):
        try:
            pending = self.psql("SELECT count(*) FROM batch_runner_work WHERE campaign = 'chaos' AND state = 0")
        except subprocess.TimeoutExpired:
            pending = "?"
        log("drain: one worker (concurrency %d), %s rows pending" % (DRAIN_CONCURRENCY, pending))
        self.drainer.start()
        self.progress_at = time.monotonic()
        self.run([self.drainer], False, lambda: self.drainer.process is None, DRAIN_STALL)
        self.sandbox.stop()  # every answer is in the request log now
        return self.exits[-1][1], os.path.join(self.drainer.output, "results.csv")

    def close(self):
        for worker in self.workers + [getattr(self, "drainer", None)]:
            if worker and worker.alive():
                worker.kill()
                worker.process.wait()
        for process in self.background:
            process.kill()
        if self.sandbox:
            self.sandbox.stop()
        data = os.path.join(self.folder, "pg", "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):  # also when the setup failed half-way
            subprocess.run(SUDO + [sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1] + "/pg_ctl", "-D", data,
                                   "-m", "immediate", "-w", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def check(chaos, drain_code, results):
    """The checks; answers (summary lines, failures)."""
    rows, lines, failures = chaos.arguments.rows, [], []
    # 1. Every accepted row (all are valid numbers) exactly once in the drain's results.csv, with status ok.
    seen, statuses = collections.Counter(), collections.Counter()
    if os.path.exists(results):
        with open(results, newline="") as file:
            reader = csv.DictReader(file)  # the columns by name: row,key,msisdn,status,...
            if not {"msisdn", "status"} <= set(reader.fieldnames or []):
                failures.append("results.csv has no msisdn or status column: %s" % reader.fieldnames)
            for record in reader if not failures else []:
                seen[re.sub(r"\D", "", record["msisdn"])] += 1  # digits only: '+316..., +316..., 316...
                statuses[record["status"]] += 1
    else:
        failures.append("no results.csv from the drain worker")
    expected = {bench.number(row) for row in range(1, rows + 1)}
    twice = sum(1 for count in seen.values() if count > 1)
    missing, unknown = len(expected - seen.keys()), len(seen.keys() - expected)
    lines.append(("results.csv", "%d lines for %d rows: %d missing, %d twice, %d unknown; status %s" % (
        sum(seen.values()), rows, missing, twice, unknown, dict(statuses))))
    if missing or twice or unknown or statuses.get("ok", 0) != rows:
        failures.append("results.csv is not every row once with status ok")
    # 2. Overlaps: one subject in flight ([received, time] at the sandbox) at two requests at once.
    # 3. Repeats: ok answers per endpoint and subject beyond the first, at most concurrency per fault.
    entries, broken = [], 0
    for line in open(chaos.request_log):
        try:
            entries.append(json.loads(line))
        except ValueError:
            broken += 1
    calls = [entry for entry in entries if "token" not in entry["endpoint"] and entry.get("subject")]
    approximated = sum(1 for entry in calls if entry.get("received") is None)
    spans, served = collections.defaultdict(list), collections.Counter()
    for entry in calls:  # without `received` (an older sandbox): the answer's time less the 30 ms latency
        received = entry["time"] - 0.03 if entry.get("received") is None else entry["received"]
        spans[entry["subject"]].append((received, entry["time"]))
        served[(entry["endpoint"], entry["subject"])] += entry["outcome"] == "ok"
    overlaps = 0
    for intervals in spans.values():
        intervals.sort()
        end = intervals[0][1]
        for received, answered in intervals[1:]:
            overlaps += received < end
            end = max(end, answered)
    repeats = sum(max(count - 1, 0) for count in served.values())
    faults = sum(chaos.faults.values())
    allowed = CONCURRENCY * (chaos.reached + chaos.hang_kills)
    lines.append(("requests", "%d lookups of %d subjects, %d token requests; outcomes %s%s" % (
        len(calls), len(spans), len(entries) - len(calls), dict(collections.Counter(e["outcome"] for e in calls)),
        "; %d unreadable lines" % broken if broken else "")))
    lines.append(("overlaps", "%d (expected 0)%s" % (overlaps, "; %d without `received`, approximated" % approximated
                                                     if approximated else "")))
    lines.append(("repeats", "%d (allowed %d = concurrency %d x (%d workers reached by %d faults + %d hang kills))" % (
        repeats, allowed, CONCURRENCY, chaos.reached, faults, chaos.hang_kills)))
    if overlaps:
        failures.append("%d overlaps" % overlaps)
    if repeats > allowed:
        failures.append("%d repeats > %d" % (repeats, allowed))
    # 4. Hangs: none. Exits: 0, 3 or 75 only, 137 only when we killed it; the drain exits 0.
    lines.append(("faults", "%d: %s" % (faults, ", ".join("%s %d" % (kind, chaos.faults[kind]) for kind in FAULTS))))
    lines.append(("hangs", "%d%s" % (len(chaos.hangs), "".join("\n%20s- %s" % ("", hang) for hang in chaos.hangs))))
    histogram = collections.Counter((code, " (our kill)" if code == 137 and kill else "") for _, code, kill in chaos.exits)
    lines.append(("exit codes", ", ".join("%d%s: %d" % (code, note, count) for (code, note), count in sorted(histogram.items()))))
    lines.append(("drain exit", str(drain_code)))
    bad = [(name, code) for name, code, kill in chaos.exits if code not in (0, 3, 75) and not (code == 137 and kill)]
    failures += ["%d hangs" % len(chaos.hangs)] if chaos.hangs else []
    failures += ["unexpected exits %s" % bad] if bad else []
    failures += ["the drain exited %d" % drain_code] if drain_code != 0 else []
    return lines, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1, help="the faults' random draws (timing still varies)")
    parser.add_argument("--rows", type=int, help="default: minutes x 60 x 300 x workers (+1000)")
    parser.add_argument("--binary", help="default: .build/release/batch-runner if it exists, else .build/debug")
    parser.add_argument("--no-state-timeout", action="store_true", help="leave `state_timeout` out (older binaries)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (kept anyway on failure)")
    arguments = parser.parse_args()
    # Big on purpose: a worker does at most 8 / 30 ms = ~260 rows/s, less under faults, so 300 rows per
    # worker-second never finish during the soak; the drain (concurrency 64) does the rest.
    arguments.rows = arguments.rows or int(arguments.minutes * 60 * 300 * arguments.workers) + 1000
    release = os.path.join(ROOT, ".build", "release", "batch-runner")
    arguments.binary = arguments.binary or (release if os.path.exists(release) else
                                            os.path.join(ROOT, ".build", "debug", "batch-runner"))

    def interrupted(number, _):  # through the `finally` below; later signals are ignored so cleanup finishes
        for each in SIGNALS:
            signal.signal(each, signal.SIG_IGN)
        log("signal %d: stopping everything" % number)
        sys.exit(128 + number)
    for number in SIGNALS:
        signal.signal(number, interrupted)
    folder = tempfile.mkdtemp(prefix="chaos-")
    chaos, failures = Chaos(arguments, folder), ["interrupted"]
    try:
        chaos.setup()
        chaos.soak()
        drain_code, results = chaos.drain()
        chaos.close()
        lines, failures = check(chaos, drain_code, results)
        print("\nchaos soak: %d workers, %g min, seed %d, %d rows, %s%s" % (
            arguments.workers, arguments.minutes, arguments.seed, arguments.rows, arguments.binary,
            ", no state_timeout" if arguments.no_state_timeout else ""))
        for name, value in lines:
            print("  %-16s %s" % (name, value))
        print("\n" + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    finally:
        for number in SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        chaos.close()
        if failures or arguments.keep:
            print("kept %s (w*.log, drain.log, requests.jsonl, out-*)" % folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
