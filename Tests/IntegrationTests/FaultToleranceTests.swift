import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// Transient faults of every kind at once end in `ok` rows, with the run's counts matching the sandbox's log;
    /// malformed answers fail their rows with a clear error.
    @Suite(.timeLimit(.minutes(3)))
    struct FaultToleranceTests {
        @Test func everyRowEndsOkThroughFaultsDropsTimeoutsTokenExpiryAndA429Storm() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.faultRate = 0.1
                $0.dropRate = 0.03
                $0.slowRate = 0.02
                $0.slowDelay = .seconds(4)
                $0.tokenLifetimeSeconds = 2
                // A quota the runner is not told about: it meets it as a storm of 429s.
                $0.quota = .init(limit: 60, interval: 1, unit: .second)
                $0.sendsQuotaHeaders = false
                $0.sendsRetryAfter = true
                $0.seed = 42
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(
                origin: sandbox.origin,
                concurrency: 16,
                extra: "http: { timeout: 3s }\n"
            )
            let count = 400
            try workspace.writeManifest(Manifests.numbers(count: count))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == count)
            #expect(rows.allSatisfy { $0[3] == "ok" }, "no row fails for a transient fault")

            let summary = try workspace.summary()
            let throttled = try #require(summary["throttled"] as? Int)
            let retries = try #require(summary["retries"] as? Int)
            // Slow answers are logged when the sandbox finally sends them, after the runner gave up on them.
            func sandboxRetries() -> Int {
                let stats = sandbox.stats
                return stats.count(.fault) + stats.count(.dropped) + stats.count(.slow) + stats.count(.rateLimited) + stats.count(.unauthorized)
            }
            try await waitUntil { sandboxRetries() >= retries }
            let stats = sandbox.stats
            #expect(stats.count(.fault) > 0 && stats.count(.dropped) > 0 && stats.count(.slow) > 0)
            #expect(stats.count(.rateLimited) > 0)
            #expect(throttled == stats.count(.rateLimited))
            #expect(retries == sandboxRetries())
            #expect((stats.byEndpoint["POST /numberverify/token"] ?? 0) >= 2, "tokens were renewed")
            #expect(Set(stats.served.keys) == Set(rows.map { $0[2] }))
        }

        @Test(arguments: [SandboxConfiguration.AnswerDamage.truncated, .wrongTypes])
        func aMalformedAnswerFailsItsRowClearly(damage: SandboxConfiguration.AnswerDamage) async throws {
            let sandbox = try await RunningSandbox.start { $0.answerDamage = damage }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 20))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 3, "\(outcome.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 20)
            #expect(rows.allSatisfy { $0[3] == "failed" && $0[10].contains("not the documented insights JSON") })
            if damage == .wrongTypes {
                // Valid JSON whose fields have the wrong types: the row names the field, never records blanks as ok.
                #expect(rows.allSatisfy { $0[10].contains("`operator_lookup.operatorName` is an object where the documented answer has text") })
            }
            #expect(sandbox.stats.count(.damaged) == 20, "a malformed answer is not retried: the service would send it again")
        }

        /// http.timeout bounds the whole answer: a gateway that sends its head and then one body byte every two
        /// seconds fails the attempt when the timeout runs out, and the attempt is retried like any transport error.
        @Test func aBodyThatTricklesInFailsTheAttemptAtTheTimeoutAndIsRetried() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.stallRate = 0.25
                $0.slowDelay = .seconds(2)
                $0.seed = 7
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "http: { timeout: 1s }\n")
            try workspace.writeManifest(Manifests.numbers(count: 24))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            // Read to its end, a stalled answer of about 60 bytes would take two minutes.
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(1500))")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 24 && rows.allSatisfy { $0[3] == "ok" })
            let stalled = sandbox.stats.count(.stalled)
            #expect(stalled > 0)
            #expect(try workspace.summary()["retries"] as? Int == stalled)
        }

        @Test func aHugeAnswerIsCappedAndFailsItsRowWithoutBeingRetried() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.answerDamage = .huge
                $0.hugeAnswerBytes = 3 << 20
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "http: { max_body_mb: 1 }\n")
            try workspace.writeManifest(Manifests.numbers(count: 10))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 3, "\(outcome.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 10)
            #expect(rows.allSatisfy { $0[3] == "failed" && $0[10].contains("larger than http.max_body_mb (1 MiB)") && $0[9] == "1" })
            #expect(sandbox.stats.count(.damaged) == 10)
        }
    }
}
