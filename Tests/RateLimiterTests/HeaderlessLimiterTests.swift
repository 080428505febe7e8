import Testing

@testable import RateLimiter

/// Without quota headers the limiter learns the gateway from its 429s alone. Each limit shape (fixed windows of
/// 10 s to an hour, spike arrests; with and without `Retry-After`) over eight windows or more, on the manual clock.
@Suite struct HeaderlessLimiterTests {
    static let shapes: [HeaderlessGateway.Shape] = [
        .fixedWindow(limit: 75, window: 60, phase: 17),
        .fixedWindow(limit: 20, window: 10, phase: 3),
        .fixedWindow(limit: 600, window: 300, phase: 100),
        .fixedWindow(limit: 1_000, window: 3_600, phase: 1_000),
        .spikeArrest(limit: 75, window: 60),
        .spikeArrest(limit: 600, window: 60),
    ]

    @Test(arguments: shapes, [false, true])
    func staysUnderThreePercent429sAndWithinAThirdOfTheIdealTime(shape: HeaderlessGateway.Shape, retryAfter: Bool) {
        let windows = 30
        let rows: Int
        switch shape {
        case .fixedWindow(let limit, _, _), .spikeArrest(let limit, _): rows = limit * windows
        }
        var run = HeaderlessRun(gateway: HeaderlessGateway(shape, sendsRetryAfter: retryAfter), rows: rows)
        let outcome = run.run()
        print("SIM \(shape) retry-after \(retryAfter): \(outcome)")
        #expect(outcome.throttledShare <= 0.03, "\(outcome)")
        #expect(outcome.wallRatio <= 1.3, "\(outcome)")
    }
}
