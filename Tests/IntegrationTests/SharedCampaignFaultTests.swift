import Foundation
import Sandbox
import Testing
import TestSupport

extension EndToEnd {
    /// Several workers on one PostgreSQL campaign on a bad night (issue 27), against a real server and the real
    /// binary: a frozen database, lost heartbeat connections, a paused worker, a database stopped mid-run, a table
    /// locked while the outputs are written, and workers sharing one output folder. The sandbox's request log is
    /// the ledger: no row is in flight at two workers at once, repeats stay within `concurrency` per fault, nothing
    /// is lost, and no worker outlives `state_timeout` plus the grace once its database is gone.
    @Suite(.serialized, .timeLimit(.minutes(10)))
    struct SharedCampaignFaultTests {
        static let concurrency = 8
        static let grace = Duration.seconds(10)
        /// Scheduling slack on a loaded 2-core machine, on top of every bound below.
        static let slack = Duration.seconds(10)

        static func body(_ sandbox: RunningSandbox, stateTimeout: String = "5s") -> String {
            SharedCampaignTests.numberVerifyBody(sandbox.origin, concurrency: concurrency) + "\nstate_timeout: \(stateTimeout)"
        }

        static func requestLog() -> String {
            NSTemporaryDirectory() + "batch-runner-requests-\(UUID().uuidString).jsonl"
        }

        /// Runs the campaign to its end with one more worker and checks every row is in results.csv exactly once.
        static func drain(_ campaign: SharedCampaign, _ sandbox: RunningSandbox, rows count: Int, worker: Int = 4) async throws {
            let drained = try await campaign.run(worker: worker, credentials: sandbox.credentials)
            #expect(drained.status == 0, "\(drained.stderr.suffix(2000))")
            let rows = try campaign.csv("results.csv", worker: worker).dropFirst()
            #expect(rows.count == count)
            #expect(Set(rows.map { $0[0] }).count == count, "no row twice")
            #expect(rows.allSatisfy { $0[3] == "ok" })
            #expect(sandbox.stats.served.count == count, "nothing lost")
        }

        @Test func aFrozenDatabaseEndsEveryWorkerWithin75AndAResumeFinishesEveryRowOnce() async throws {
            let server = try PostgresServer()
            defer {
                server.thaw()
                server.stop()
            }
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(5) }
            let campaign = try SharedCampaign(server: server, body: Self.body(sandbox))
            let count = 6_000
            try campaign.workspace.writeManifest(Manifests.numbers(count: count))
            let workers = try [1, 2].map { try campaign.start(worker: $0, credentials: sandbox.credentials) }
            try await waitUntil { sandbox.stats.requests >= 1_000 }
            server.freeze()
            let frozenAt = ContinuousClock.now
            for worker in workers {
                let outcome = await worker.finish()
                let took = frozenAt.duration(to: .now)
                #expect(outcome.status == 75, "\(outcome.stderr.suffix(2000))")
                #expect(took <= .seconds(5) + Self.grace + Self.slack, "a frozen database ends a worker within state_timeout and the grace: \(took)")
                // Whichever the worker meets first: an operation past state_timeout, or its lease running out unrenewed.
                #expect(outcome.stderr.contains("state database") || outcome.stderr.contains("lease"), "\(outcome.stderr.suffix(1000))")
            }
            server.thaw()
            try await Self.drain(campaign, sandbox, rows: count)
            let repeats = sandbox.stats.served.values.reduce(0) { $0 + $1 - 1 }
            #expect(repeats <= 2 * Self.concurrency, "at most the rows in flight when it froze: \(repeats)")
        }

        @Test func aWorkerWhoseHeartbeatConnectionsAreTerminatedReconnectsAndNoRowIsSentTwiceAtOnce() async throws {
            let logPath = Self.requestLog()
            let sandbox = try await RunningSandbox.start {
                $0.latency = .milliseconds(30)
                $0.requestLogPath = logPath
            }
            let server = try PostgresServer.shared()
            let campaign = try SharedCampaign(server: server, body: Self.body(sandbox))
            let count = 6_000
            try campaign.workspace.writeManifest(Manifests.numbers(count: count))
            let workers = try [1, 2].map { try campaign.start(worker: $0, credentials: sandbox.credentials) }
            let victim = workers[0].process.processIdentifier
            // What an idle-connection reaper, a failover or a DBA does, three times over.
            for threshold in [800, 1_600, 2_400] {
                try await waitUntil { sandbox.stats.requests >= threshold }
                try server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'batch-runner[\(victim)] heartbeat'")
            }
            for worker in workers {
                let outcome = await worker.finish()
                #expect([0, 3, 75].contains(outcome.status), "\(outcome.stderr.suffix(2000))")
                #expect(!outcome.stderr.contains("deadlock"), "\(outcome.stderr.suffix(2000))")
            }
            try await Self.drain(campaign, sandbox, rows: count)
            let ledger = try RequestLedger(path: logPath)
            #expect(ledger.overlaps == 0, "no row in flight at two workers at once")
            #expect(ledger.repeats <= Self.concurrency, "repeats: \(ledger.repeats)")
        }

        @Test func aWorkerPausedForLongerThanItsLeaseSendsNothingForRowsItNoLongerHolds() async throws {
            let logPath = Self.requestLog()
            let sandbox = try await RunningSandbox.start {
                $0.latency = .milliseconds(30)
                $0.requestLogPath = logPath
            }
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: Self.body(sandbox))
            let count = 6_000
            try campaign.workspace.writeManifest(Manifests.numbers(count: count))
            let paused = try campaign.start(worker: 1, credentials: sandbox.credentials)
            let other = try campaign.start(worker: 2, credentials: sandbox.credentials)
            try await waitUntil { sandbox.stats.requests >= 1_000 }
            // 2.5 times the 3 s lease: a CPU-starved host, a stalled VM.
            paused.signal(SIGSTOP)
            try await Task.sleep(for: .seconds(7.5))
            paused.signal(SIGCONT)
            let resumed = await paused.finish()
            #expect(resumed.status == 75, "a worker whose lease ran out stops: \(resumed.stderr.suffix(2000))")
            #expect(resumed.stderr.contains("lease"), "\(resumed.stderr.suffix(1000))")
            let survivor = await other.finish()
            #expect(survivor.status == 0, "\(survivor.stderr.suffix(2000))")
            try await Self.drain(campaign, sandbox, rows: count)
            let ledger = try RequestLedger(path: logPath)
            #expect(ledger.overlaps == 0, "no row in flight at two workers at once")
            #expect(ledger.repeats <= Self.concurrency, "only the paused worker's rows in flight are sent again: \(ledger.repeats)")
        }

        /// The CI hang of the last landing: a database stopped (immediate) under 1 ms answers, twenty times.
        @Test func aDatabaseStoppedMidRunNeverHangsAWorkerTwentyCampaignsInARow() async throws {
            let server = try PostgresServer()
            defer { server.stop() }
            let count = 2_000
            for round in 1...20 {
                let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(1) }
                let campaign = try SharedCampaign(server: server, body: Self.body(sandbox))
                try campaign.workspace.writeManifest(Manifests.numbers(count: count))
                let workers = try [1, 2].map { try campaign.start(worker: $0, credentials: sandbox.credentials) }
                try await waitUntil { sandbox.stats.requests >= 300 + 40 * round }
                server.stop()
                let stoppedAt = ContinuousClock.now
                for worker in workers {
                    let outcome = await worker.finish(limit: .seconds(60))
                    let took = stoppedAt.duration(to: .now)
                    #expect(took <= .seconds(30), "round \(round): a worker outlived its database by \(took)")
                    #expect([0, 75].contains(outcome.status), "round \(round): \(outcome.stderr.suffix(2000))")
                }
                try server.start()
                try await Self.drain(campaign, sandbox, rows: count)
                let repeats = sandbox.stats.served.values.reduce(0) { $0 + $1 - 1 }
                #expect(repeats <= 2 * Self.concurrency, "round \(round): \(repeats) repeats")
            }
        }

        @Test func aTableLockedWhileTheOutputsAreWrittenEndsAWorkerWithinGraceAndStateTimeoutOrAtOnceOnASecondSignal() async throws {
            let server = try PostgresServer.shared()
            let sandbox = try await RunningSandbox.start()
            for (stateTimeout, signals) in [("5s", 1), ("60s", 2)] {
                let campaign = try SharedCampaign(server: server, body: Self.body(sandbox, stateTimeout: stateTimeout))
                try campaign.workspace.writeManifest(Manifests.numbers(count: 200))
                #expect(try await campaign.run(worker: 1, credentials: sandbox.credentials).status == 0)
                // A DBA's session holds a table that only the outputs read; the finished campaign goes straight to them.
                let lock = try server.startPsql(
                    "BEGIN; LOCK TABLE batch_runner_extra_rows IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT;",
                    database: PostgresServer.database
                )
                defer {
                    lock.terminate()
                    _ = try? server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()")
                }
                try await waitUntil {
                    (try? server.psql("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted AND relation = 'batch_runner_extra_rows'::regclass", database: PostgresServer.database)) == "1"
                }
                let worker = try campaign.start(worker: 2, credentials: sandbox.credentials)
                let pid = worker.process.processIdentifier
                try await waitUntil {
                    (try? server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'batch-runner[\(pid)]' AND wait_event_type = 'Lock'")) == "1"
                }
                let signalledAt = ContinuousClock.now
                // SIGTERM, then SIGINT: two of the same kind sent at once may arrive as one.
                worker.signal(SIGTERM)
                if signals == 2 { worker.signal(SIGINT) }
                let outcome = await worker.finish()
                let took = signalledAt.duration(to: .now)
                #expect(outcome.status == 75, "\(outcome.stderr.suffix(2000))")
                if signals == 1 {
                    #expect(took <= .seconds(5) + Self.grace + Self.slack, "one signal: within the grace and state_timeout, took \(took)")
                } else {
                    #expect(took <= Self.slack, "a second signal ends it at once, took \(took)")
                }
            }
        }

        @Test func twoReportWorkersSharingAnOutputFolderKeepEachOthersFiles() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(20) }
            let body = """
                kind: idscan-reports
                concurrency: 4
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                retry: { max_attempts: 6, base_delay: 20ms, max_delay: 200ms }
                idscan: { report: simple }
                state_timeout: 10s
                """
            let (manifest, _) = IDScanReportsEndToEndTests.manifest(1_500)
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: body)
            try campaign.workspace.writeManifest(manifest)
            // One job file, one output folder: two workers on the same host.
            let first = BatchRunnerProcess(["run", campaign.jobFile(1)], environment: campaign.environment(sandbox.idscanCredentials))
            let second = BatchRunnerProcess(["run", campaign.jobFile(1)], environment: campaign.environment(sandbox.idscanCredentials))
            try first.start()
            try await waitUntil { sandbox.stats.requests >= 50 }
            try second.start()
            try await waitUntil { sandbox.stats.requests >= 600 }
            first.signal(SIGTERM)
            let stopped = await first.finish()
            #expect(stopped.status == 75, "\(stopped.stderr.suffix(2000))")
            let finished = await second.finish()
            #expect(finished.status == 0, "\(finished.stderr.suffix(2000))")
            let check = Process()
            check.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            check.arguments = ["--check", "--strict", "--quiet", "SHA256SUMS"]
            check.currentDirectoryURL = URL(fileURLWithPath: campaign.output(1) + "/reports")
            let pipe = Pipe()
            (check.standardOutput, check.standardError) = (pipe, pipe)
            try check.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            check.waitUntilExit()
            #expect(check.terminationStatus == 0, "every file SHA256SUMS lists is there: \(output.suffix(2000))")
            #expect(try campaign.csv("results.csv", worker: 1).count == 1_501)
        }
    }
}
