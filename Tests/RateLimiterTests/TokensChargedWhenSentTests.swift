import Testing

@testable import RateLimiter

/// Tokens are charged when a request leaves, and only then: a row dropped after the limiter let it out (a stop, a
/// lost lease, a token that could not be had) gives its token back (the lesson of BullMQ and Temporal issues where
/// fetched-but-not-sent work used up the limit).
@Suite struct TokensChargedWhenSentTests {
    @Test func aRowDroppedBeforeSendingReturnsTheLocalCapsToken() {
        var configuration = RateLimiterConfiguration()
        configuration.maxPerSecond = 1
        var state = LimiterState<Instant>(configuration: configuration)
        #expect(state.decide(at: at(0)) == .send)
        state.recordNotSent()
        #expect(state.inFlight == 0)
        #expect(state.decide(at: at(0)) == .send, "the token came back: no wait")
        state.recordAnswer(QuotaObservation(), at: at(0.1))
        #expect(state.decide(at: at(0.1)) == .sleep(until: at(1)), "a request that was sent keeps its token")
    }

    @Test func aRowDroppedBeforeSendingReturnsItsSlotOfTheLearnedPace() {
        var state = LimiterState<Instant>(configuration: RateLimiterConfiguration())
        state.restoreLearnedRate(perSecond: 2, window: nil)
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(QuotaObservation(), at: at(0))  // the first answer: no quota headers
        #expect(state.decide(at: at(0)) == .sleep(until: at(0.5)))
        #expect(state.decide(at: at(0.5)) == .send)
        state.recordNotSent()
        #expect(state.decide(at: at(0.5)) == .send, "the dropped row's slot is taken by the next")
        #expect(state.decide(at: at(0.5)) == .sleep(until: at(1)))
    }

    @Test func aRowDroppedBeforeSendingIsNotCountedAgainstTheWindow() {
        var state = LimiterState<Instant>(configuration: RateLimiterConfiguration())
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 3, used: 1, resetIn: .seconds(60)), at: at(0.1))
        #expect(state.decide(at: at(0.2)) == .send && state.decide(at: at(0.2)) == .send)
        #expect(state.decide(at: at(0.2)) == .park, "two in flight use the window's last two calls")
        state.recordNotSent()
        #expect(state.remaining == 1 && state.decide(at: at(0.2)) == .send)
    }
}
