import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// The binary against the sandbox's header-less gateway shapes (`--sliding-window`, `--token-bucket`,
    /// `--concurrency-limit`): the gateway's limit is met and learned, and every row ends answered, once.
    @Suite(.timeLimit(.minutes(2)))
    struct GatewayShapeEndToEndTests {
        enum Shape: String, CaseIterable, Sendable {
            case slidingWindow = "sliding window 30 in 2 s"
            case tokenBucket = "token bucket 20 a second, burst 10"
            case concurrencyLimit = "at most 4 in flight, answers after 50 ms"
        }

        @Test(arguments: Shape.allCases)
        func everyRowIsAnsweredOnceThroughTheShape(_ shape: Shape) async throws {
            let sandbox = try await RunningSandbox.start {
                $0.quota = nil
                $0.sendsQuotaHeaders = false
                switch shape {
                case .slidingWindow: $0.slidingWindow = (30, 2)
                case .tokenBucket: $0.tokenBucket = (20, 10)
                case .concurrencyLimit: ($0.concurrencyLimit, $0.latency) = (4, .milliseconds(50))
                }
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 16)
            try workspace.writeManifest(Manifests.numbers(count: 100))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(shape): \(outcome.stderr.suffix(600))")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 100 && rows.allSatisfy { $0[3] == "ok" }, "\(shape)")
            #expect(sandbox.stats.served.count == 100 && sandbox.stats.served.values.allSatisfy { $0 == 1 }, "\(shape): each number answered once")
            #expect(sandbox.stats.count(.rateLimited) >= 1, "\(shape): the gateway's limit was met")
        }
    }
}
