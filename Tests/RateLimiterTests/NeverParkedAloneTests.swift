import TestSupport
import Testing

@testable import RateLimiter

/// A parked request waits for an answer, so the limiter must never park one while nothing is in flight: no answer
/// would ever come, and the run would hang until it is killed. (A refusal charged to a limit on requests in flight
/// once waited for a success that only a request in flight could bring.)
@Suite struct NeverParkedAloneTests {
    @Test func aRefusalChargedToTheLimitInFlightLetsTheNextRequestGoOnceNothingIsInFlight() throws {
        var state = LimiterState<Instant>(configuration: .init())
        var open: [SendTicket] = []
        var now = 0.0
        // Slow start climbs (one more in flight per success) until eight are in flight.
        for _ in 0..<1_000 where open.count < 8 {
            switch state.decide(at: at(now)) {
            case .send: open.append(try #require(state.lastTicket))
            case .sleep(let until): now = seconds(until) + 1e-6
            case .park:
                now += 0.001
                state.recordAnswer(QuotaObservation(), at: at(now), ticket: open.removeFirst())
            case .exhausted: Issue.record("no quota to spend"); return
            }
        }
        try #require(open.count == 8)
        // Seven are admitted; the newest, refused above every number admitted, is charged to a limit on requests
        // in flight, and its refusal waits for a success: the last answer of the run so far.
        let refused = open.removeLast()
        for ticket in open { state.recordAnswer(QuotaObservation(), at: at(now + 0.01), ticket: ticket) }
        state.recordRateLimit(QuotaObservation(), at: at(now + 0.02), unitRandom: 0.5, ticket: refused)
        #expect(state.inFlight == 0)
        var decision = state.decide(at: at(now + 0.03))
        if case .sleep(let until) = decision { decision = state.decide(at: until.advanced(by: .microseconds(1))) }
        #expect(decision == .send, "alone, a request goes: its answer is the success awaited")
        #expect(state.decide(at: at(now + 5)) == .park, "and it goes alone")
    }

    /// Random sends, answers, 429s (with and without `Retry-After`), lost answers and dropped rows, with and without
    /// quota headers: whenever nothing is in flight, the next decision is never to park.
    @Test(arguments: [false, true]) func noSequenceOfEventsParksARequestWithNothingInFlight(headers: Bool) {
        for seed in 1...200 {
            var random = SplitMix(seed: UInt64(seed))
            var state = LimiterState<Instant>(configuration: .init())
            var inFlight: [SendTicket] = []
            var now = 0.0
            var used = 0
            for _ in 0..<2_000 {
                now += random.unit() < 0.5 ? 0.001 : random.unit() * 2
                let roll = random.unit()
                if inFlight.isEmpty || roll < 0.4 {
                    var probe = state
                    let decision = probe.decide(at: at(now))
                    if inFlight.isEmpty, state.inFlight == 0, decision == .park {
                        Issue.record("parked with nothing in flight: seed \(seed), at \(now) s")
                        return
                    }
                    state = probe
                    if decision == .send, let ticket = state.lastTicket { inFlight.append(ticket) }
                    continue
                }
                let ticket = inFlight.remove(at: Int(random.unit() * Double(inFlight.count)))
                let observation = headers ? quota(limit: 50, used: min(used, 50), resetIn: .seconds(10)) : QuotaObservation()
                switch random.unit() {
                case ..<0.6:
                    used += 1
                    state.recordAnswer(observation, at: at(now), ticket: ticket)
                case ..<0.75:
                    state.recordRateLimit(observation, at: at(now), unitRandom: random.unit(), ticket: ticket)
                case ..<0.85:
                    let retryAfter = QuotaObservation(retryAfter: .seconds(1))
                    state.recordRateLimit(headers ? observation : retryAfter, at: at(now), unitRandom: random.unit(), ticket: ticket)
                case ..<0.95: state.recordNoAnswer(ticket: ticket)
                default: state.recordNotSent(ticket: ticket)
                }
                if used >= 50, random.unit() < 0.05 { used = 0 }
            }
        }
    }
}
