import Foundation
import Testing

@testable import RateLimiter

/// Without quota headers the limiter learns the gateway from its 429s alone. The grid: every shape API gateways
/// offer (fixed and sliding windows of 10 s to an hour, token buckets with a burst, spike arrests from one a minute
/// to 50 a second, a limit on requests in flight) x answers taking 1 ms to 1 s x with and without `Retry-After`,
/// each over a run of at least eight windows on the manual clock: at most 3% of requests answered 429, and wall
/// time at most 1.3x the ideal (for a limit on requests in flight, at least 90% of it used: 1.11x).
///
/// Serialized: each cell is CPU-bound synchronous work, and in parallel they would hold every thread of the
/// cooperative pool for minutes, starving the other suites' timed work (a JWT's minute of validity, say).
@Suite(.serialized) struct GatewayGridTests {
    static let shapes: [SimulatedGateway.Shape] = [
        .fixedWindow(limit: 40, window: 10, phase: 3),
        .fixedWindow(limit: 20, window: 10, phase: 7),
        .fixedWindow(limit: 75, window: 60, phase: 17),
        .fixedWindow(limit: 600, window: 300, phase: 100),
        .fixedWindow(limit: 1_000, window: 3_600, phase: 1_000),
        .slidingWindow(limit: 30, window: 10),
        .slidingWindow(limit: 60, window: 60),
        .slidingWindow(limit: 300, window: 300),
        .tokenBucket(rate: 5, burst: 10),
        .tokenBucket(rate: 5, burst: 20),
        .tokenBucket(rate: 1, burst: 5),
        .tokenBucket(rate: 50, burst: 100),
        .spikeArrest(limit: 1, window: 60),
        .spikeArrest(limit: 40, window: 10),
        .spikeArrest(limit: 75, window: 60),
        .spikeArrest(limit: 10, window: 1),
        .spikeArrest(limit: 50, window: 1),
        .concurrencyLimit(4),
        .concurrencyLimit(8),
    ]
    /// The whole grid (four latencies, up to 6,000 rows a cell) costs about a minute of a debug build's CPU, which
    /// beside the timed integration suites on two cores (leases of a few seconds) is too much: the test run takes
    /// the 80 ms column, and `BATCH_RUNNER_FULL_GRID=1 swift test --filter GatewayGridTests` the whole grid, as
    /// BENCHMARKS.md records it.
    static let isFullGrid = ProcessInfo.processInfo.environment["BATCH_RUNNER_FULL_GRID"] == "1"
    static let latencies = isFullGrid ? [0.001, 0.08, 0.2, 1.0] : [0.08]

    /// The cells the learner does not yet bring within the goal (issue 30, BENCHMARKS.md "Every gateway shape"):
    /// checked as known issues, so each still runs, and one that comes within the goal fails until it is taken off.
    static let beyondTheGoal: Set<String> = [
        "fixed window 20/10s | 1 ms | none",
        "spike arrest 50/1s | 1 ms | Retry-After",
    ]

    static func run(_ shape: SimulatedGateway.Shape, latency: Double, retryAfter: Bool) -> GatewayRun.Outcome {
        var run = GatewayRun(gateway: SimulatedGateway(shape, sendsRetryAfter: retryAfter), rows: shape.rows(windows: 30, atMost: isFullGrid ? 6_000 : 3_000))
        run.latency = latency
        return run.run()
    }

    @Test(arguments: shapes, latencies)
    func staysUnderThreePercent429sAndWithinAThirdOfTheIdealTime(shape: SimulatedGateway.Shape, latency: Double) {
        for retryAfter in [false, true] {
            let outcome = Self.run(shape, latency: latency, retryAfter: retryAfter)
            let cell = "\(shape) | \(Int(latency * 1000)) ms | \(retryAfter ? "Retry-After" : "none")"
            print("GRID | \(cell) | \(outcome)")
            let slowest = if case .concurrencyLimit = shape { 1 / 0.9 } else { 1.3 }
            let check = {
                #expect(outcome.throttledShare <= 0.03 && outcome.wallRatio <= slowest, "\(cell): \(outcome)")
            }
            if Self.beyondTheGoal.contains(cell) {
                withKnownIssue("beyond the goal today (issue 30)", check)
            } else {
                check()
            }
        }
    }
}
