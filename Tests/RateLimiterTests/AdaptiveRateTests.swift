import TestSupport
import Testing

@testable import RateLimiter

@Suite struct AdaptiveRateTests {
    /// Forty sends and successes 0.25 s apart (4 per second), then a throttle at 10 s.
    private func throttledAtFourPerSecond() -> AdaptiveRate<Instant> {
        var rate = AdaptiveRate<Instant>()
        for index in 0..<40 {
            rate.recordSend(at: at(Double(index) * 0.25))
            rate.recordSuccess(at: at(Double(index) * 0.25))
        }
        rate.recordThrottle(at: at(10))
        return rate
    }

    @Test func inactiveUntilTheFirstThrottle() {
        var rate = AdaptiveRate<Instant>()
        for _ in 0..<100 {
            rate.recordSend(at: at(0))
            rate.recordSuccess(at: at(0))
            #expect(rate.sendTime(at: at(0)) == nil)
        }
        #expect(!rate.isActive)
        #expect(rate.ratePerSecond == nil)
    }

    @Test func slowStartGrowsTheInFlightCapByOnePerSuccess() {
        var rate = AdaptiveRate<Instant>()
        #expect(rate.allowsAnother(inFlight: 0))
        #expect(!rate.allowsAnother(inFlight: 1))
        rate.recordSuccess(at: at(0))
        #expect(rate.allowsAnother(inFlight: 1))
        #expect(!rate.allowsAnother(inFlight: 2))
        for _ in 0..<300 { rate.recordSuccess(at: at(0)) }
        #expect(rate.inFlightCap == nil)
        #expect(rate.allowsAnother(inFlight: 10_000))
    }

    @Test func aThrottleEndsSlowStart() {
        var rate = AdaptiveRate<Instant>()
        rate.recordSend(at: at(0))
        rate.recordThrottle(at: at(0))
        #expect(rate.inFlightCap == nil)
        #expect(rate.isActive)
    }

    @Test func throttleSetsARateBelowTheSustainableRate() throws {
        let rate = throttledAtFourPerSecond()
        #expect(rate.isActive)
        let perSecond = try #require(rate.ratePerSecond)
        #expect(abs(perSecond - 4 * 0.8) < 1e-9)
    }

    @Test func theSustainableRateCountsOnlyTheLastMinute() throws {
        var rate = AdaptiveRate<Instant>()
        // 600 successes in the first minute, then ten minutes of nothing but 30 successes.
        for index in 0..<600 {
            rate.recordSend(at: at(Double(index) * 0.1))
            rate.recordSuccess(at: at(Double(index) * 0.1))
        }
        for index in 0..<30 { rate.recordSuccess(at: at(600 + Double(index))) }
        rate.recordThrottle(at: at(630))
        #expect(abs(try #require(rate.ratePerSecond) - 30.0 / 60 * 0.8) < 1e-9)
    }

    @Test func activeRateSpacesSends() throws {
        var rate = throttledAtFourPerSecond()
        let spacing = 1 / (try #require(rate.ratePerSecond))
        rate.recordSend(at: at(20))
        let next = try #require(rate.sendTime(at: at(20)))
        #expect(abs(at(20).duration(to: next).seconds - spacing) < 1e-9)
        #expect(rate.sendTime(at: next) == nil)
    }

    @Test func everyThrottleDecreasesTheRate() throws {
        var rate = throttledAtFourPerSecond()
        var previous = try #require(rate.ratePerSecond)
        for round in 1...5 {
            rate.recordThrottle(at: at(10 + Double(round)))
            let current = try #require(rate.ratePerSecond)
            #expect(current <= previous * 0.8 + 1e-9)
            previous = current
        }
    }

    @Test func rateNeverFallsBelowTheFloor() throws {
        var rate = AdaptiveRate<Instant>()
        for round in 0..<100 { rate.recordThrottle(at: at(Double(round))) }
        #expect(try #require(rate.ratePerSecond) == 0.05)
    }

    @Test func successesIncreaseTheRateSlowly() throws {
        var rate = throttledAtFourPerSecond()
        let throttled = try #require(rate.ratePerSecond)
        rate.recordSuccess(at: at(11))
        let once = try #require(rate.ratePerSecond)
        #expect(once > throttled)
        #expect(once < throttled * 1.01)
        // Climbing back to the rate that was throttled takes about `successesPerThrottle` successes.
        for _ in 1..<50 { rate.recordSuccess(at: at(11)) }
        #expect(try #require(rate.ratePerSecond) < 4)
        for _ in 50..<90 { rate.recordSuccess(at: at(11)) }
        #expect(try #require(rate.ratePerSecond) > 4)
    }
}
