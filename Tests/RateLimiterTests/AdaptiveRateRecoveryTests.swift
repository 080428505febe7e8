import TestSupport
import Testing

@testable import RateLimiter

/// Where an opening restarts the rate: what the period proved, but after a short episode never less than half
/// the target under the ceiling (TCP's fast recovery), since a period that climbed from a low rate proves less than
/// the gateway allows.
@Suite struct AdaptiveRateRecoveryTests {
    /// Forty requests sent at once (a burst: slow start's pace proves nothing) answered 0.25 s apart (t = 0 … 9.75), a
    /// throttle at 10 s, the opening at 12 s; then paced at `rate` with a learned window of `window` seconds (nil: as
    /// learned).
    private func paced(at rate: Double?, window: Double?) -> AdaptiveRate<Instant> {
        var learner = AdaptiveRate<Instant>()
        for _ in 0..<40 { learner.recordSend(at: at(0)) }
        for index in 0..<40 { learner.recordSuccess(at: at(Double(index) * 0.25)) }
        _ = learner.recordThrottle(at: at(10))
        learner.recordSend(at: at(12))
        learner.recordSuccess(at: at(12))
        if let rate, let window { learner.restore(ratePerSecond: rate, window: .seconds(window)) }
        return learner
    }

    @Test func aShortEpisodeNeverRestartsBelowHalfTheTargetUnderTheCeiling() throws {
        // A spike arrest of 10 a second: paced at 12 a second it refuses; the period before proved 2 a second.
        var rate = paced(at: 12, window: 1)
        var now = 12.0
        for _ in 0..<4 {
            now += 1
            rate.recordSend(at: at(now))
            rate.recordSuccess(at: at(now))
        }
        _ = rate.recordThrottle(at: at(now))
        rate.recordSend(at: at(now + 1))
        rate.recordSuccess(at: at(now + 1))
        #expect(rate.ceiling == 12)
        #expect(abs(try #require(rate.ratePerSecond) - 12 * 0.95 / 2) < 1e-9, "not the 1 a second the period proved")
    }

    @Test func anEpisodeThatHeldBackAQuarterOfThePeriodRestartsAtWhatItProved() throws {
        // A fixed window of 20 in 10 s spent at 6 a second: the episode lasts 6.5 s of the 10 s period, and the
        // 21 successes of the period (the opening's included) are all the gateway gives.
        var rate = paced(at: 6, window: 10)
        var now = 12.0
        for _ in 0..<20 {
            now += 1.0 / 6
            rate.recordSend(at: at(now))
            rate.recordSuccess(at: at(now))
        }
        _ = rate.recordThrottle(at: at(15.5))
        rate.recordSend(at: at(22))
        rate.recordSuccess(at: at(22))
        #expect(rate.ceiling == 6)
        #expect(abs(try #require(rate.ratePerSecond) - 2.1) < 1e-9, "not half the target under the ceiling, 2.85")
    }

    @Test func anEpisodeAProbeOrTwoEndedRestartsAtTheLastCleanStepsRate() throws {
        // A spike arrest met on the doubling climb: the rate before the step held a whole step, so it is proven;
        // after more refused probes (a spent window) only half the target under the ceiling is.
        for refusedProbes in [0, 4] {
            var rate = paced(at: nil, window: nil)
            let held = try #require(rate.ratePerSecond)
            var now = 12.0
            for _ in 0..<200 where rate.ratePerSecond == held {
                now += 2 / held
                rate.recordSend(at: at(now))
                rate.recordSuccess(at: at(now))
            }
            #expect(rate.ratePerSecond == 2 * held && rate.ceiling == nil)
            _ = rate.recordThrottle(at: at(now))
            for _ in 0..<refusedProbes {
                now += 0.01
                rate.recordSend(at: at(now))
                _ = rate.recordThrottle(at: at(now))
            }
            rate.recordSend(at: at(now + 0.01))
            rate.recordSuccess(at: at(now + 0.01))
            let expected = refusedProbes == 0 ? held : 2 * held * 0.95 / 2
            #expect(abs(try #require(rate.ratePerSecond) - expected) < 1e-9, "\(refusedProbes) probes refused")
        }
    }

    /// Slow start paced at 4 a second (answers 50 ms after each send), a throttle at 10 s, the opening at `opening`;
    /// the throttle's `Retry-After` is `retryAfter`.
    private func slowStart(sendingEvery spacing: Double, throttleAt throttle: Double, retryAfter: Duration? = nil, opening: Double) -> AdaptiveRate<Instant> {
        var rate = AdaptiveRate<Instant>()
        for index in 0..<40 {
            rate.recordSend(at: at(Double(index) * spacing))
            rate.recordSuccess(at: at(Double(index) * spacing + spacing / 5))
        }
        _ = rate.recordThrottle(at: at(throttle), retryAfter: retryAfter)
        rate.recordSend(at: at(opening))
        rate.recordSuccess(at: at(opening))
        return rate
    }

    @Test func slowStartsPaceIsTheFirstCeilingWhenTheGatewayReopenedAtOnce() throws {
        // A spike arrest met at 4 a second with answers of a second: the first period (40 in 10.5 s) proves less
        // than slow start's pace, which the gateway refused only just; the clean pace before it is the restart.
        let rate = slowStart(sendingEvery: 0.25, throttleAt: 10, opening: 10.5)
        #expect(rate.ceiling == 4)
        #expect(abs(try #require(rate.ratePerSecond) - 4 * 0.95) < 1e-9, "not the 40 / 10.5 the period proved")
    }

    @Test func slowStartsPaceIsNoCeilingWhenTheGatewayThenHeldBack() throws {
        // The same pace, but the gateway held back 4 s of the 14 s period (a fixed window spent early).
        let rate = slowStart(sendingEvery: 0.25, throttleAt: 10, opening: 14)
        #expect(rate.ceiling == nil)
        #expect(abs(try #require(rate.ratePerSecond) - 40.0 / 14) < 1e-9)
    }

    @Test func slowStartsPaceFarAboveWhatThePeriodProvedIsABurstTheGatewayAbsorbed() throws {
        // Answers of a millisecond: slow start reached 1,000 a second; a token bucket's burst took them, and its
        // second of `Retry-After` proves 40 a second at most.
        let rate = slowStart(sendingEvery: 0.001, throttleAt: 0.04, retryAfter: .seconds(1), opening: 1.04)
        #expect(rate.ceiling == nil)
        #expect(abs(try #require(rate.ratePerSecond) - 40.0 / 1.04) < 1e-9)
    }

    @Test func aRetryAfterOfASecondIsTheGatewaysRoundingNotAHoldingBack() throws {
        // Paced at 12 a second against a spike arrest of 10: a throttle, and the probe after the header's second
        // gets through. Without the header an episode of 1.2 s in a period of 3.2 s held back (the period proved
        // all there was); with it, the second is what any shorter wait is rounded up to.
        for retryAfter in [nil, Duration.seconds(1)] {
            var rate = paced(at: 12, window: 1)
            var now = 12.0
            for _ in 0..<4 {
                now += 0.5
                rate.recordSend(at: at(now))
                rate.recordSuccess(at: at(now))
            }
            _ = rate.recordThrottle(at: at(now), retryAfter: retryAfter)
            rate.recordSend(at: at(now + 1.2))
            rate.recordSuccess(at: at(now + 1.2))
            let expected = retryAfter == nil ? 5 / 3.2 : 12 * 0.95 / 2
            #expect(abs(try #require(rate.ratePerSecond) - expected) < 1e-9, "Retry-After \(String(describing: retryAfter))")
        }
    }
}
