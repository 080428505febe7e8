import Testing

@testable import RateLimiter

/// One learner for a shared campaign: three runners (eight workers each) on one ledger without quota headers meet
/// the single-process goal (at most 3% of requests answered 429, wall time at most 1.3x the ideal), answers after
/// 80 ms. The test run takes the end-to-end corners of issue 30; `BATCH_RUNNER_FULL_GRID=1` adds the grid's
/// other rates. Serialized for the reason ``GatewayGridTests`` is.
@Suite(.serialized) struct SharedLearnerTests {
    static let shapes: [SimulatedGateway.Shape] =
        [
            .fixedWindow(limit: 40, window: 10, phase: 3.7),
            .spikeArrest(limit: 40, window: 10),
            .spikeArrest(limit: 1, window: 60),
            .tokenBucket(rate: 5, burst: 20),
            .slidingWindow(limit: 60, window: 60),
        ]
        + (GatewayGridTests.isFullGrid
            ? [
                .fixedWindow(limit: 75, window: 60, phase: 17), .fixedWindow(limit: 600, window: 300, phase: 100),
                .slidingWindow(limit: 30, window: 10), .tokenBucket(rate: 1, burst: 5), .spikeArrest(limit: 10, window: 1),
            ] : [])

    /// As the single process's (``GatewayGridTests/beyondTheGoal``): none today.
    static let beyondTheGoal: Set<String> = []

    @Test(arguments: shapes)
    func threeWorkersSharingOneLearnerMeetTheSingleProcessGoal(shape: SimulatedGateway.Shape) {
        for retryAfter in [false, true] {
            var run = SharedGatewayRun(gateway: SimulatedGateway(shape, sendsRetryAfter: retryAfter), rows: shape.rows(windows: 30))
            let outcome = run.run()
            let cell = "\(shape) | \(retryAfter ? "Retry-After" : "none")"
            print("SHARED | \(cell) | \(outcome)")
            let check = { #expect(outcome.throttledShare <= 0.03 && outcome.wallRatio <= 1.3, "\(cell): \(outcome)") }
            if Self.beyondTheGoal.contains(cell) {
                withKnownIssue("beyond the goal today (issue 30)", check)
            } else {
                check()
            }
        }
    }
}
