import Testing

@testable import RateLimiter

/// `quota.share`: the limiter spends at most that share of every advertised window, or of the learned rate, and
/// across workers the share applies to their sum.
@Suite struct QuotaShareTests {
    private func configuration(share: Double) -> RateLimiterConfiguration {
        var configuration = RateLimiterConfiguration()
        configuration.share = share
        return configuration
    }

    /// Sends granted at `now` until the limiter says to wait.
    private func sends(_ state: inout LimiterState<Instant>, at now: Instant) -> Int {
        var count = 0
        while case .send = state.decide(at: now) { count += 1 }
        return count
    }

    @Test func withHeadersAShareOfEveryWindowIsSpent() {
        var state = LimiterState<Instant>(configuration: configuration(share: 0.8))
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 100, used: 1, resetIn: .seconds(60)), at: at(0.1))
        #expect(sends(&state, at: at(0.2)) == 79, "80 of 100 in the window, the probe included")
        #expect(state.decide(at: at(0.3)) == .park)
    }

    @Test func theServersCountOfOtherClientsCallsLeavesLessToSpend() {
        var state = LimiterState<Instant>(configuration: configuration(share: 0.8))
        #expect(state.decide(at: at(0)) == .send)
        // The customer's interactive traffic has used 50 of the window already.
        state.recordAnswer(quota(limit: 100, used: 51, resetIn: .seconds(60)), at: at(0.1))
        #expect(sends(&state, at: at(0.2)) == 29, "up to 80 counted by the server, this limiter's and the others' together")
    }

    @Test func withoutHeadersAShareOfTheLearnedRateIsSpent() throws {
        var rate = AdaptiveRate<Instant>()
        rate.share = 0.5
        rate.restore(ratePerSecond: 4, window: nil)
        rate.recordSend(at: at(0))
        #expect(rate.sendTime(at: at(0)) == at(0.5), "half of 4 a second: one every half second")
    }

    @Test func workersSharingAQuotaSpendTheShareOfItTogether() {
        var quota = SharedQuota()
        quota.record(SharedQuota.Report(limit: 100, used: 0, resetEpoch: 1_060, windowSeconds: 60, at: 1_000), tolerance: 2)
        var granted = 0
        for _ in 0..<30 {
            if case .sends(let count, _) = quota.take(want: 8, now: 1_001, margin: 1, probeTimeout: 30, share: 0.8) { granted += count }
        }
        #expect(granted == 80)
    }
}
