import TestSupport
import Testing

@testable import RateLimiter

/// The learner of a limit on requests in flight, rule by rule.
@Suite struct InFlightLimitTests {
    /// A gateway that admits 4 in flight: successes up to 4, a refusal at 5.
    private func learnedFour() -> InFlightLimit {
        var limit = InFlightLimit()
        for level in 1...4 { limit.recordSuccess(sentWith: level) }
        let charged = limit.recordThrottle(sentWith: 5)
        #expect(charged)
        return limit
    }

    @Test func aRefusalAboveEveryAdmittedNumberIsALimitOnRequestsInFlight() {
        let limit = learnedFour()
        #expect(limit.cap == 3 && limit.refusedAt == 5 && !limit.limitsRate, "three quarters of 5, sent on without a pause")
    }

    @Test func afterARefusalNothingLeavesUntilASuccessShowsTheGatewayStillAdmits() {
        // A spent window refuses every request: sent under the new cap before its next 429 came back, they were lost.
        var limit = learnedFour()
        #expect(limit.awaitsSuccess)
        var rate = AdaptiveRate<Instant>()
        for level in 1...8 {
            rate.recordSend(at: at(0))
            rate.recordSuccess(at: at(0.001), inFlight: level)
        }
        let response = rate.recordThrottle(at: at(0.002), inFlight: 9)
        #expect(response == .inFlightLimit)
        #expect(!rate.allowsAnother(inFlight: 1), "under the cap of 6, but no success since the refusal")
        #expect(rate.allowsAnother(inFlight: 0), "alone, a request goes: its answer is the success awaited")
        // The 429s of requests sent before it keep it waiting; a success ends the wait.
        let earlier = limit.recordThrottle(sentWith: 6)
        #expect(earlier && limit.awaitsSuccess)
        limit.recordSuccess(sentWith: 3)
        #expect(!limit.awaitsSuccess)
        rate.recordSuccess(at: at(0.003), inFlight: 5)
        #expect(rate.allowsAnother(inFlight: 1))
    }

    @Test func aRefusalWithFewerInFlightThanAnAdmissionOrAloneIsARateLimit() {
        var limit = learnedFour()
        let fewer = limit.recordThrottle(sentWith: 2)
        #expect(!fewer, "2 in flight were admitted before")
        #expect(limit.limitsRate && limit.cap == nil)
        let later = limit.recordThrottle(sentWith: 9)
        #expect(!later, "from then on every 429 is the rate learner's")
        var alone = InFlightLimit()
        let lone = alone.recordThrottle(sentWith: 1)
        #expect(!lone, "a gateway that refuses a lone request limits a rate")
        var pair = InFlightLimit()
        pair.recordSuccess(sentWith: 1)
        let second = pair.recordThrottle(sentWith: 2)
        #expect(!second && pair.limitsRate, "the second of two sent together: a spike arrest's refusal, paced as a rate")
    }

    @Test func aRefusalAtTheNumberAnAdmissionHadStillCountsForTheLimitOnRequestsInFlight() {
        // The numbers the client counts and the gateway counts differ by one now and then (an answer on its way):
        // taking an equal number for a rate's made a real limit of 8 with 16 workers run at 1.48x (BENCHMARKS.md).
        var limit = InFlightLimit()
        for level in 1...5 { limit.recordSuccess(sentWith: level) }
        let charged = limit.recordThrottle(sentWith: 5)
        #expect(charged && !limit.limitsRate)
    }

    @Test func theCapClimbsBackUnderTheRefusedLevelAtOnceAndTriesItRarely() {
        var limit = learnedFour()
        for _ in 0..<3 { limit.recordSuccess(sentWith: 3) }
        #expect(limit.cap == 4, "a cap's worth of successes: one more, up to just under the refused level")
        for _ in 0..<(4 * 4 - 1) { limit.recordSuccess(sentWith: 4) }
        #expect(limit.cap == 4, "the refused level waits for four caps' worth of successes")
        limit.recordSuccess(sentWith: 4)
        #expect(limit.cap == 5)
        // Refused again there: the wait doubles.
        let again = limit.recordThrottle(sentWith: 5)
        #expect(again)
        for _ in 0..<3 { limit.recordSuccess(sentWith: 3) }
        #expect(limit.cap == 4)
        for _ in 0..<(4 * 4 * 2 - 1) { limit.recordSuccess(sentWith: 4) }
        #expect(limit.cap == 4)
        limit.recordSuccess(sentWith: 4)
        #expect(limit.cap == 5)
    }

    @Test func onlyAnswersThatUsedTheWholeCapGrowIt() {
        // As TCP grows its window only while the window limits it (RFC 7661): answers of a millisecond seldom fill
        // a cap, and successes under it prove nothing about the level above.
        var limit = learnedFour()
        for _ in 0..<12 { limit.recordSuccess(sentWith: 2) }
        #expect(limit.cap == 3)
        for _ in 0..<3 { limit.recordSuccess(sentWith: 3) }
        #expect(limit.cap == 4)
    }

    @Test func aRefusedLevelThatHoldsIsForgotten() {
        var limit = learnedFour()
        for _ in 0..<3 { limit.recordSuccess(sentWith: 3) }
        for _ in 0..<16 { limit.recordSuccess(sentWith: 4) }
        #expect(limit.cap == 5)
        for _ in 0..<5 { limit.recordSuccess(sentWith: 5) }
        #expect(limit.cap == 6 && limit.refusedAt == nil, "the gateway loosened: the climb goes on a cap's worth at a time")
    }

    @Test func aRateLearnedElsewhereEndsIt() {
        var limit = learnedFour()
        limit.markRateLimited()
        #expect(limit.cap == nil && limit.limitsRate)
    }
}
