import TestSupport
import Testing

@testable import RateLimiter

/// After a pause one probe goes first, and only its answer (or a later request's) ends the probing: the requests
/// sent before the pause and still in flight neither hold the probe back nor, answered late, let the rest follow.
/// (With answers of a second, a late answer had let six requests out before the probe's came back.)
@Suite struct ProbeAfterPauseTests {
    @Test func requestsSentBeforeThePauseNeitherHoldTheProbeBackNorEndIt() throws {
        var state = LimiterState<Instant>(configuration: .init())
        func send(at time: Double) throws -> SendTicket {
            #expect(state.decide(at: at(time)) == .send)
            return try #require(state.lastTicket)
        }
        let first = try send(at: 0)
        state.recordAnswer(QuotaObservation(), at: at(0.1), ticket: first)
        let slow = try send(at: 0.2)
        let refused = try send(at: 0.25)
        state.recordRateLimit(QuotaObservation(retryAfter: .seconds(1)), at: at(0.3), unitRandom: 0.5, ticket: refused)
        #expect(state.decide(at: at(1)) == .sleep(until: at(0.3).advanced(by: .seconds(1))))
        // The pause is over: the probe leaves although the slow request is still in flight, and goes alone.
        let probe = try send(at: 1.31)
        #expect(state.decide(at: at(1.31)) == .park)
        state.recordAnswer(QuotaObservation(), at: at(1.35), ticket: slow)
        #expect(state.decide(at: at(1.36)) == .park, "a late answer does not end the probe")
        state.recordAnswer(QuotaObservation(), at: at(1.4), ticket: probe)
        #expect(state.decide(at: at(1.4)) != .park, "the probe's answer does")
    }
}
