import TestSupport
import Testing

@testable import RateLimiter

@Suite struct AdaptiveRateTests {
    /// Ten sends 0.25 s apart (4 per second), then a throttle at 2.25 s.
    private func throttledAtFourPerSecond() -> AdaptiveRate<Instant> {
        var rate = AdaptiveRate<Instant>()
        for index in 0..<10 { rate.recordSend(at: at(Double(index) * 0.25)) }
        rate.recordThrottle(at: at(2.25))
        return rate
    }

    @Test func inactiveUntilTheFirstThrottle() {
        var rate = AdaptiveRate<Instant>()
        for _ in 0..<100 {
            rate.recordSend(at: at(0))
            rate.recordSuccess()
            #expect(rate.sendTime(at: at(0)) == nil)
        }
        #expect(!rate.isActive)
        #expect(rate.ratePerSecond == nil)
    }

    @Test func throttleSetsARateBelowTheMeasuredSendRate() throws {
        let rate = throttledAtFourPerSecond()
        #expect(rate.isActive)
        let perSecond = try #require(rate.ratePerSecond)
        #expect(abs(perSecond - 4 * 0.8) < 1e-9)
    }

    @Test func activeRateSpacesSends() throws {
        var rate = throttledAtFourPerSecond()
        let spacing = 1 / (try #require(rate.ratePerSecond))
        rate.recordSend(at: at(10))
        let next = try #require(rate.sendTime(at: at(10)))
        #expect(abs(at(10).duration(to: next).seconds - spacing) < 1e-9)
        #expect(rate.sendTime(at: next) == nil)
    }

    @Test func everyThrottleDecreasesTheRate() throws {
        var rate = throttledAtFourPerSecond()
        var previous = try #require(rate.ratePerSecond)
        for round in 1...5 {
            rate.recordThrottle(at: at(2.25 + Double(round)))
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
        rate.recordSuccess()
        let once = try #require(rate.ratePerSecond)
        #expect(once > throttled)
        #expect(once < throttled * 1.01)
        // Climbing back to the rate that was throttled takes about `successesPerThrottle` successes.
        for _ in 1..<40 { rate.recordSuccess() }
        #expect(try #require(rate.ratePerSecond) < 4)
        for _ in 40..<80 { rate.recordSuccess() }
        #expect(try #require(rate.ratePerSecond) > 4)
    }
}
