import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// Device matches, token renewal and transient faults, end to end.
    @Suite(.timeLimit(.minutes(2)))
    struct NumberVerifyBehaviourTests {
        @Test func pollsDeviceMatchesUntilDecidedOrTimedOut() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(
                origin: sandbox.origin,
                extra: "number_verify: { scopes: [operator_lookup, device_match], poll_timeout: 600ms, poll_interval: 100ms }"
            )
            try workspace.writeManifest("customer_id,msisdn\nA,0612345670\nB,0612345675\nC,0612345679\n")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let matches = try workspace.csv("results.csv").dropFirst().map { $0[8] }
            #expect(matches == ["AVAILABLE", "UNAVAILABLE", "pending"])
            #expect((sandbox.stats.byEndpoint["GET /polling"] ?? 0) >= 3)
        }

        @Test func renewsTokensThatExpireDuringTheRun() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.tokenLifetimeSeconds = 1
                $0.latency = .milliseconds(20)
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 4)
            try workspace.writeManifest(Manifests.numbers(count: 400))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(try workspace.csv("results.csv").dropFirst().allSatisfy { $0[3] == "ok" })
            #expect((sandbox.stats.byEndpoint["POST /numberverify/token"] ?? 0) >= 2)
            #expect(sandbox.stats.served.count == 400)
        }

        @Test func retriesTransientFaultsWithoutFailingRows() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.faultRate = 0.1
                $0.seed = 7
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 8)
            try workspace.writeManifest(Manifests.numbers(count: 500))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 500)
            #expect(rows.allSatisfy { $0[3] == "ok" })
            let faults = sandbox.stats.count(.fault)
            #expect(faults > 0)
            #expect(try workspace.summary()["retries"] as? Int == faults)
            #expect(rows.map { Int($0[9])! }.reduce(0, +) == 500 + faults)
        }

        @Test func aServiceThatFailsEverythingStopsTheRunResumable() async throws {
            let sandbox = try await RunningSandbox.start { $0.faultRate = 1 }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 4)
            try workspace.writeManifest(Manifests.numbers(count: 100))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 75, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("failed"))
            let summary = try workspace.summary()
            #expect(summary["failed"] as? Int == 0)
            #expect(summary["pending"] as? Int == 100)
        }
    }
}
