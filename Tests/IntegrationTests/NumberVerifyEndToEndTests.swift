import Foundation
import Jobs
import Sandbox
import Testing

extension EndToEnd {
    /// The real binary against an in-process sandbox, as the README's users run it.
    @Suite(.timeLimit(.minutes(2)))
    struct NumberVerifyEndToEndTests {
        @Test func fiveThousandRowsCompleteWithCorrectResults() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 16)
            try workspace.writeManifest(Manifests.numbers(count: 5_000, duplicateEvery: 50, rejectEvery: 97, notFoundEvery: 499))

            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "numbers the service does not know are answers, not failures: \(outcome.stderr)")
            #expect(outcome.stdout.contains("results.csv"))

            let results = try workspace.csv("results.csv")
            let rejects = try workspace.csv("rejects.csv")
            #expect(results.first == ["row", "key", "msisdn", "status", "operator_name", "region_code", "mcc", "mnc", "device_match", "attempts", "error"])
            #expect(rejects.first == ["row", "key", "value", "reason"])
            let rows = results.dropFirst()
            #expect(rows.count + rejects.count - 1 == 5_000)
            #expect(rows.map { Int($0[0])! } == rows.map { Int($0[0])! }.sorted())
            #expect(Set(rows.map { $0[0] }).count == rows.count)
            var notFound = 0
            for row in rows {
                let msisdn = row[2]
                if let insight = SandboxNumbers.insight(for: msisdn) {
                    #expect(row[3] == "ok")
                    #expect(row[4] == insight.operatorName)
                    #expect(row[5] == insight.regionCode)
                    #expect(row[6] == (insight.mcc ?? ""))
                    #expect(row[7] == (insight.mnc ?? ""))
                } else {
                    notFound += 1
                    #expect(row[3] == "not_found" && row[4...8].allSatisfy(\.isEmpty) && row[10].isEmpty, "\(row)")
                }
            }
            #expect(notFound == 10)
            #expect(rejects.count - 1 == 5_000 / 97)

            // Each distinct number was looked up exactly once, duplicates included.
            let served = sandbox.stats.served
            #expect(served.count == Set(rows.map { $0[2] }).count)
            #expect(served.values.allSatisfy { $0 == 1 })

            let summary = try workspace.summary()
            #expect(summary["rows"] as? Int == 5_000)
            #expect(summary["accepted"] as? Int == rows.count)
            #expect(summary["not_found"] as? Int == 10 && summary["failed"] as? Int == 0)
            #expect(summary["succeeded"] as? Int == rows.count - 10, "succeeded counts ok rows only")
            #expect(summary["pending"] as? Int == 0)
            #expect(summary["exit_code"] as? Int == 0)
            #expect(summary["requests"] as? Int == sandbox.stats.requests)
            #expect(summary["throttled"] as? Int == 0)
        }

        @Test func aRunStoppedBySIGINTResumesWithoutSendingAFinishedRowAgain() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(10) }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 4)
            try workspace.writeManifest(Manifests.numbers(count: 1_500))

            let first = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.credentials)
            try first.start()
            try await waitUntil { sandbox.stats.requests >= 200 }
            first.signal(SIGINT)
            let stopped = await first.finish()
            #expect(stopped.status == 75, "\(stopped.stderr)")
            #expect(stopped.stderr.contains("Stopped by SIGINT"))
            #expect(stopped.stderr.contains("resume"))
            #expect((try workspace.summary()["stop_reason"] as? String)?.hasPrefix("Stopped by SIGINT") == true)
            let partial = try workspace.csv("results.csv").dropFirst()
            #expect(partial.count >= 190 && partial.count < 1_500)
            #expect(try workspace.summary()["pending"] as? Int == 1_500 - partial.count)

            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(try workspace.csv("results.csv").count == 1_501)
            // A graceful stop commits what was in flight: no number was sent twice.
            #expect(sandbox.stats.served.count == 1_500)
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 })
        }

        @Test func aKilledRunRepeatsAtMostTheRowsInFlight() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(10) }
            let workspace = try Workspace()
            let concurrency = 6
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: concurrency)
            try workspace.writeManifest(Manifests.numbers(count: 1_500))

            let first = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.credentials)
            try first.start()
            try await waitUntil { sandbox.stats.requests >= 300 }
            first.signal(SIGKILL)
            #expect(await first.finish().status != 0)

            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(second.status == 0, "\(second.stderr)")
            let results = try workspace.csv("results.csv").dropFirst()
            #expect(results.count == 1_500)
            let repeated = sandbox.stats.served.values.filter { $0 > 1 }
            #expect(sandbox.stats.served.count == 1_500)
            #expect(repeated.count <= concurrency)
            #expect(repeated.allSatisfy { $0 == 2 })
        }

        @Test func aCompletedJobRunAgainSendsNothingAndRewritesTheSameOutputs() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 40, duplicateEvery: 7, rejectEvery: 9))
            let first = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(first.status == 0, "\(first.stderr)")
            let results = try workspace.read("results.csv")
            let rejects = try workspace.read("rejects.csv")
            let requests = sandbox.stats.requests

            let again = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(sandbox.stats.requests == requests)
            #expect(try workspace.read("results.csv") == results)
            #expect(try workspace.read("rejects.csv") == rejects)
            #expect(try workspace.summary()["requests"] as? Int == 0)
        }

        @Test func aChangedManifestIsRefusedUnlessRestarted() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 20))
            #expect(try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials).status == 0)

            try workspace.writeManifest(Manifests.numbers(count: 21))
            let refused = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(refused.status == 65)
            #expect(refused.stderr.contains("changed"))
            #expect(refused.stderr.contains("--restart"))

            let restarted = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--restart"], environment: sandbox.credentials)
            #expect(restarted.status == 0, "\(restarted.stderr)")
            #expect(try workspace.csv("results.csv").count == 22)
        }

        @Test func theRunSpendsTheSandboxQuotaWithoutA429() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.quota = .init(limit: 30, interval: 2, unit: .second)
                $0.resetFormat = .epochSeconds
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 8)
            try workspace.writeManifest(Manifests.numbers(count: 75))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(sandbox.stats.count(.rateLimited) == 0)
            #expect(sandbox.stats.count(.ok) == 75)
            #expect(try workspace.summary()["throttled"] as? Int == 0)
        }

        @Test func quotaStopExitsResumableAndTheNextRunSendsNothingWhileTheWindowIsSpent() async throws {
            let sandbox = try await RunningSandbox.start { $0.quota = .init(limit: 10, interval: 1, unit: .hour) }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "quota: { on_exhausted: stop, max_wait: 1m }")
            try workspace.writeManifest(Manifests.numbers(count: 25))
            let first = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(first.status == 75, "\(first.stderr)")
            #expect(first.stderr.contains("quota"))
            #expect(sandbox.stats.count(.ok) == 10)
            #expect(sandbox.stats.count(.rateLimited) == 0)
            #expect(try workspace.summary()["pending"] as? Int == 15)

            // The date is named too when the reset falls on another day (a run in the last hour before midnight UTC).
            #expect(first.stderr.contains(/resets at (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\dZ, in (59m|1h00m)\d\ds/), "a time and a duration: \(first.stderr.suffix(400))")

            let requests = sandbox.stats.requests
            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(second.status == 75)
            #expect(sandbox.stats.requests == requests)

            // The provider resets the quota: --ignore-saved-quota lets the first answer's headers decide.
            sandbox.sandbox.resetQuotaWindows()
            let third = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--ignore-saved-quota"], environment: sandbox.credentials)
            #expect(third.status == 75, "\(third.stderr)")
            #expect(sandbox.stats.count(.ok) == 20, "a new window of 10 lookups")
            #expect(try workspace.summary()["pending"] as? Int == 5)
        }

        /// A run that starts waiting for a spent window's reset says so; a SIGTERM while it only waits ends it at
        /// once (75), not after the 10 s grace: no row is in flight, and nothing is lost.
        @Test func aSignalDuringAQuotaWaitEndsTheRunAtOnce() async throws {
            let sandbox = try await RunningSandbox.start { $0.quota = .init(limit: 5, interval: 1, unit: .hour) }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 2)
            try workspace.writeManifest(Manifests.numbers(count: 20))
            let run = BatchRunnerProcess(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials)
            try run.start()
            try await run.waitForStderr(containing: "quota spent; waiting for the reset at ")
            let signalled = ContinuousClock.now
            run.signal(SIGTERM)
            let outcome = await run.finish(limit: .seconds(60))
            let took = signalled.duration(to: .now)
            #expect(outcome.status == 75, "\(outcome.stderr.suffix(600))")
            #expect(took < .seconds(5), "the stop waited \(took), as if rows were in flight (the grace is 10 s)")
            let summary = try workspace.summary()
            #expect(summary["succeeded"] as? Int == 5 && summary["pending"] as? Int == 15)
            #expect(sandbox.stats.count(.ok) == 5 && sandbox.stats.count(.rateLimited) == 0)
        }

        @Test func theRateLearnedWithoutQuotaHeadersIsSavedAndRestoredByTheNextRun() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.quota = SandboxConfiguration.Quota(limit: 20, interval: 1, unit: .second)
                $0.sendsQuotaHeaders = false
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 4)
            try workspace.writeManifest(Manifests.numbers(count: 120))
            let first = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--limit", "60"], environment: sandbox.credentials)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(sandbox.stats.count(.rateLimited) >= 1, "the first run met the gateway's limit and learned from it")
            #expect(!first.stderr.contains("learned rate restored"))
            let status = try await BatchRunnerProcess.run(["status", workspace.jobFile, "--json"])
            let learned = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["learned"] as? [[String: Any]]
            #expect((learned?.first?["rate_per_second"] as? Double).map { $0 > 0 } == true, "status shows the learned rate: \(status.stdout)")
            let text = try await BatchRunnerProcess.run(["status", workspace.jobFile])
            #expect(text.stdout.contains("requests a second (no quota headers: learned from the gateway's 429s"), "\(text.stdout)")

            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("learned rate restored"), "\(second.stderr)")
            #expect(try workspace.csv("results.csv").dropFirst().count == 120)
        }

        @Test func anOverlappingRunExitsAtOnce() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(50) }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 1)
            try workspace.writeManifest(Manifests.numbers(count: 200))
            let first = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.credentials)
            try first.start()
            try await waitUntil { sandbox.stats.requests >= 2 }
            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(second.status == 75)
            #expect(second.stderr.contains("Another batch-runner run (pid \(first.process.processIdentifier) on "), "the holder is named: \(second.stderr)")
            first.signal(SIGTERM)
            #expect(await first.finish().status == 75)
            let status = try await BatchRunnerProcess.run(["status", workspace.jobFile, "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            #expect(json?["last_run_interrupted"] == nil, "a run that exited is not taken for a killed one")
        }

        /// A run killed without an exit is shown by `status` as such, naming it.
        @Test func statusShowsARunThatEndedWithoutAnExit() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(50) }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 1)
            try workspace.writeManifest(Manifests.numbers(count: 200))
            let run = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.credentials)
            try run.start()
            try await waitUntil { sandbox.stats.requests >= 3 }
            run.signal(SIGKILL)
            _ = await run.finish()
            let status = try await BatchRunnerProcess.run(["status", workspace.jobFile])
            #expect(status.stdout.contains("last run (pid \(run.process.processIdentifier) on "), "\(status.stdout)")
            #expect(status.stdout.contains("ended without an exit code: killed?"), "\(status.stdout)")
        }
    }
}

/// Polls `condition` every 10 ms (a real process is being watched, so there is no clock to inject); fails after
/// 30 s.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
    while !condition() {
        guard ContinuousClock.now < deadline else { throw CancellationError() }
        try await Task.sleep(for: .milliseconds(10))
    }
}
