import TestSupport
import Testing

@testable import RateLimiter

@Suite struct LimiterStateTests {
    private typealias State = LimiterState<Instant>

    /// How many seconds after `now` a `.sleep` decision says to ask again; nil for any other decision.
    private func sleepSeconds(_ decision: LimiterDecision<Instant>, from now: Instant) -> Double? {
        guard case .sleep(let until) = decision else { return nil }
        return now.duration(to: until).seconds
    }

    /// A state past its first answer: `limit` known, `used` counted, the reset `resetIn` after t = 0.
    private func answeredState(
        _ configuration: RateLimiterConfiguration = .init(),
        limit: Int = 10,
        used: Int = 1,
        resetIn: Duration? = .seconds(60),
        window: Duration? = nil
    ) -> State {
        var state = State(configuration: configuration)
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: limit, used: used, resetIn: resetIn, window: window), at: at(0))
        return state
    }

    // MARK: First request and pacing

    @Test func firstRequestGoesAloneUntilItsAnswerArrives() {
        var state = State(configuration: .init())
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .park)
        #expect(state.decide(at: at(5)) == .park)
        #expect(state.inFlight == 1)
        state.recordAnswer(QuotaObservation(), at: at(5))
        #expect(state.decide(at: at(5)) == .send)
        // The second leaves half the first answer's time later, not beside the first (a spike arrest refuses that).
        #expect(state.decide(at: at(5)) == .sleep(until: at(7.5)))
        #expect(state.decide(at: at(7.5)) == .send)
        #expect(state.inFlight == 2)
    }

    @Test func noAnswerFreesTheInFlightSlot() {
        var state = State(configuration: .init())
        #expect(state.decide(at: at(0)) == .send)
        state.recordNoAnswer()
        #expect(state.inFlight == 0)
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .park)
    }

    @Test func sendsTheWholeQuotaCountingRequestsInFlightThenWaitsForTheReset() {
        var state = answeredState(limit: 10, used: 1, resetIn: .seconds(60))
        #expect(state.resetAt == at(61))  // reset plus the one-second margin
        for _ in 2...10 { #expect(state.decide(at: at(0)) == .send) }
        #expect(state.inFlight == 9)
        #expect(state.remaining == 0)
        #expect(state.decide(at: at(0)) == .park)  // the 11th: the server has not counted those in flight yet
        for used in 2...10 {
            state.recordAnswer(quota(limit: 10, used: used, resetIn: .seconds(59)), at: at(1))
            if used < 10 { #expect(state.decide(at: at(1)) == .park) }
        }
        #expect(state.isSpent)
        #expect(state.decide(at: at(1)) == .sleep(until: at(61)))
        #expect(state.decide(at: at(60.5)) == .sleep(until: at(61)))
        // The new window: one request first, then the rest of the quota.
        #expect(state.decide(at: at(61)) == .send)
        #expect(state.decide(at: at(61)) == .park)
        state.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(60)), at: at(61))
        #expect(state.resetAt == at(122))
        for _ in 2...10 { #expect(state.decide(at: at(61)) == .send) }
        #expect(state.decide(at: at(61)) == .park)
    }

    /// The wait for a spent window's reset is announced once per window, with its length, whoever asks.
    @Test func theWaitForAResetIsAnnouncedOncePerWindow() {
        var state = answeredState(limit: 2, used: 1, resetIn: .seconds(30))
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.takeResetWaitToAnnounce() == nil, "a send is no wait")
        state.recordAnswer(quota(limit: 2, used: 2, resetIn: .seconds(30)), at: at(0))
        #expect(state.decide(at: at(1)) == .sleep(until: at(31)))
        #expect(state.takeResetWaitToAnnounce() == .seconds(30))
        #expect(state.decide(at: at(2)) == .sleep(until: at(31)))
        #expect(state.takeResetWaitToAnnounce() == nil, "the same window's wait is not announced again")
        #expect(state.decide(at: at(31)) == .send)
        state.recordAnswer(quota(limit: 2, used: 2, resetIn: .seconds(30)), at: at(31))
        #expect(state.decide(at: at(32)) == .sleep(until: at(62)))
        #expect(state.takeResetWaitToAnnounce() == .seconds(30), "the next window's wait is")

        var stopping = answeredState(.init(onExhausted: .stop(maxWait: .seconds(5))), limit: 1, used: 1, resetIn: .seconds(30))
        #expect(stopping.decide(at: at(1)) == .exhausted(resetIn: .seconds(30)))
        #expect(stopping.takeResetWaitToAnnounce() == nil, "a run that stops does not wait")
    }

    @Test func withoutResetHeaderTheWindowCountsFromTheFirstAnswer() {
        var state = answeredState(limit: 3, used: 1, resetIn: nil, window: .seconds(60))
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 3, used: 2, window: .seconds(60)), at: at(1))
        state.recordAnswer(quota(limit: 3, used: 3, window: .seconds(60)), at: at(1))
        #expect(state.decide(at: at(1)) == .sleep(until: at(60)))
        #expect(state.decide(at: at(60)) == .send)
    }

    @Test func answerFromANewerWindowRestartsTheCount() {
        var state = answeredState(limit: 10, used: 9, resetIn: .seconds(10))
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .park)
        state.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(60)), at: at(5))
        #expect(state.used == 1)
        #expect(state.resetAt == at(66))
        #expect(state.decide(at: at(5)) == .send)
    }

    @Test func lateAnswerFromAnEndedWindowIsIgnored() {
        var state = answeredState(limit: 10, used: 1, resetIn: .seconds(60))
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 10, used: 10, resetIn: .seconds(1)), at: at(2))
        #expect(state.used == 1)
        #expect(state.resetAt == at(61))
        #expect(state.decide(at: at(2)) == .send)
    }

    // MARK: Rate-limit answers

    @Test func rateLimitPausesEveryRequestForRetryAfterThenOneProbeGoesFirst() {
        var state = State(configuration: .init())
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(QuotaObservation(), at: at(0))
        for _ in 0..<3 { state.recordAnswer(QuotaObservation(), at: at(0)) }  // past slow start's first steps
        for _ in 0..<3 { #expect(state.decide(at: at(0)) == .send) }
        state.recordRateLimit(QuotaObservation(retryAfter: .seconds(30)), at: at(1), unitRandom: 0.5)
        #expect(state.pausedUntil == at(31))
        #expect(state.decide(at: at(1)) == .sleep(until: at(31)))
        #expect(state.decide(at: at(1)) == .sleep(until: at(31)))
        // Answers to the requests still in flight do not end the pause.
        state.recordAnswer(QuotaObservation(), at: at(2))
        state.recordAnswer(QuotaObservation(), at: at(3))
        #expect(state.decide(at: at(30.5)) == .sleep(until: at(31)))
        #expect(state.inFlight == 0)
        #expect(state.decide(at: at(31)) == .send)
        #expect(state.decide(at: at(31)) == .park)
        state.recordAnswer(QuotaObservation(), at: at(32))
        #expect(state.decide(at: at(40)) == .send)
    }

    @Test func rateLimitWithRetryAfterWaitsOnlyThatLongWhenTheQuotaIsKnown() {
        var state = answeredState(limit: 100, used: 1, resetIn: .seconds(3_600))
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .send)
        state.recordRateLimit(QuotaObservation(retryAfter: .seconds(30)), at: at(1), unitRandom: 0.5)
        state.recordAnswer(quota(limit: 100, used: 3, resetIn: .seconds(3_599)), at: at(2))
        #expect(state.decide(at: at(2)) == .sleep(until: at(31)))
        #expect(state.decide(at: at(31)) == .send)
        #expect(state.decide(at: at(31)) == .park)
    }

    @Test func rateLimitWithoutRetryAfterPausesUntilTheReset() {
        var state = answeredState(limit: 10, used: 1, resetIn: .seconds(60))
        #expect(state.decide(at: at(0)) == .send)
        state.recordRateLimit(quota(limit: 10, used: 10, resetIn: .seconds(59)), at: at(1), unitRandom: 0.5)
        #expect(state.pausedUntil == at(61))
        #expect(state.decide(at: at(1)) == .sleep(until: at(61)))
        #expect(state.decide(at: at(61)) == .send)
        #expect(state.decide(at: at(61)) == .park)
    }

    @Test func aLimiterThatDoesNotPaceReportsTheSharedLedgersRateAsLearned() {
        var configuration = RateLimiterConfiguration()
        configuration.pacesAdaptively = false
        var state = State(configuration: configuration)
        #expect(state.learnedRate == nil)
        state.sharedLearnedRate = (12.5, .seconds(10))
        #expect(state.learnedRate?.perSecond == 12.5 && state.learnedRate?.window == .seconds(10))
    }

    /// Without a learned rate to probe from (here: a shared quota paces, not this limiter) the backoff decides.
    @Test(arguments: [0.0, 0.3, 0.5, 0.999])
    func rateLimitWithoutResetOrRetryAfterOrALearnedRateBacksOffWithinTheCeiling(unitRandom: Double) throws {
        var configuration = RateLimiterConfiguration(backoff: Backoff(base: .seconds(1), cap: .seconds(3)))
        configuration.pacesAdaptively = false
        let backoff = configuration.backoff
        var state = State(configuration: configuration)
        var now = at(10)
        #expect(state.decide(at: now) == .send)
        for failures in 1...4 {
            state.recordRateLimit(QuotaObservation(), at: now, unitRandom: unitRandom)
            let pause = now.duration(to: try #require(state.pausedUntil))
            #expect(pause == backoff.delay(afterFailures: failures, unitRandom: unitRandom))
            #expect(pause <= backoff.ceiling(afterFailures: failures))
            #expect(pause <= .seconds(3))
            if pause > .zero { #expect(state.decide(at: now) == .sleep(until: now.advanced(by: pause))) }
            now = now.advanced(by: .seconds(60))  // past the pause and the adaptive spacing
            #expect(state.decide(at: now) == .send)  // the probe
            #expect(state.decide(at: now) == .park)
        }
        // A success ends the run of throttles: the next pause starts from the first ceiling again.
        state.recordAnswer(QuotaObservation(), at: now)
        now = now.advanced(by: .seconds(60))
        #expect(state.decide(at: now) == .send)
        state.recordRateLimit(QuotaObservation(), at: now, unitRandom: unitRandom)
        let pausedUntil = try #require(state.pausedUntil)
        #expect(now.duration(to: pausedUntil) == backoff.delay(afterFailures: 1, unitRandom: unitRandom))
    }

    @Test func rateLimitWithKnownQuotaButUnknownResetProbesAfterTheBackoff() {
        var state = answeredState(limit: 10, used: 5, resetIn: nil)
        #expect(state.decide(at: at(0)) == .send)
        state.recordRateLimit(QuotaObservation(), at: at(1), unitRandom: 0.5)
        #expect(state.decide(at: at(1)) == .sleep(until: at(1.5)))
        #expect(state.decide(at: at(1.5)) == .send)  // one probe finds out whether the window has reset
        #expect(state.decide(at: at(1.5)) == .park)
        state.recordAnswer(quota(limit: 10, used: 1), at: at(2))
        #expect(state.decide(at: at(2)) == .send)
    }

    @Test func spentWindowWithUnknownResetBacksOffThenProbes() {
        var state = answeredState(limit: 2, used: 1, resetIn: nil)
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 2, used: 2), at: at(1))
        #expect(state.decide(at: at(1)) == .sleep(until: at(1.5)))
        #expect(state.decide(at: at(1.5)) == .send)
        #expect(state.decide(at: at(1.5)) == .park)
    }

    // MARK: on_exhausted: stop

    @Test func stopPolicyIsExhaustedWhenTheResetIsBeyondMaxWait() {
        var state = answeredState(
            .init(onExhausted: .stop(maxWait: .seconds(60))),
            limit: 10,
            used: 10,
            resetIn: .seconds(3_600)
        )
        #expect(state.decide(at: at(0)) == .exhausted(resetIn: .seconds(3_601)))
        #expect(state.inFlight == 0)
    }

    @Test(arguments: [30, 59])
    func stopPolicyWaitsWhenTheResetIsWithinMaxWait(resetIn: Int64) {
        var state = answeredState(
            .init(onExhausted: .stop(maxWait: .seconds(60))),
            limit: 10,
            used: 10,
            resetIn: .seconds(resetIn)
        )
        let reset = at(Double(resetIn + 1))
        #expect(state.decide(at: at(0)) == .sleep(until: reset))
        #expect(state.decide(at: reset) == .send)
    }

    @Test func stopPolicyIsExhaustedWhenARateLimitPauseIsBeyondMaxWait() {
        var state = answeredState(
            .init(onExhausted: .stop(maxWait: .seconds(60))),
            limit: 10,
            used: 1,
            resetIn: .seconds(600)
        )
        #expect(state.decide(at: at(0)) == .send)
        state.recordRateLimit(QuotaObservation(), at: at(0), unitRandom: 0.5)
        #expect(state.decide(at: at(0)) == .exhausted(resetIn: .seconds(601)))
    }

    // MARK: Restored quota

    @Test func restoredSpentWindowWaitsForTheResetWithoutSending() {
        var state = State(configuration: .init())
        state.restore(limit: 10, used: 10, resetIn: .seconds(600), window: .seconds(3_600), at: at(0))
        #expect(state.decide(at: at(0)) == .sleep(until: at(601)))
        #expect(state.decide(at: at(300)) == .sleep(until: at(601)))
        #expect(state.inFlight == 0)
        #expect(state.decide(at: at(601)) == .send)
    }

    @Test func restoredSpentWindowUnderStopIsExhaustedAtOnce() {
        var state = State(configuration: .init(onExhausted: .stop(maxWait: .seconds(60))))
        state.restore(limit: 10, used: 12, resetIn: .seconds(600), window: nil, at: at(0))
        #expect(state.decide(at: at(0)) == .exhausted(resetIn: .seconds(601)))
        #expect(state.inFlight == 0)
    }

    @Test func restoredWindowWithQuotaLeftSendsWhatIsLeft() {
        var state = State(configuration: .init(onExhausted: .stop(maxWait: .seconds(60))))
        state.restore(limit: 10, used: 7, resetIn: .seconds(600), window: nil, at: at(0))
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .park)
        state.recordAnswer(quota(limit: 10, used: 8, resetIn: .seconds(600)), at: at(0))
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .park)
    }

    // MARK: Local cap and smoothing

    @Test func maxPerSecondSpacesRequests() {
        var state = State(configuration: .init(maxPerSecond: 2))
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 1_000, used: 1, resetIn: .seconds(60)), at: at(0))
        #expect(state.decide(at: at(0)) == .send)
        #expect(state.decide(at: at(0)) == .sleep(until: at(0.5)))
        #expect(state.decide(at: at(0.5)) == .send)
        #expect(state.decide(at: at(0.5)) == .sleep(until: at(1)))
        #expect(state.decide(at: at(1)) == .send)
        #expect(state.inFlight == 3)
    }

    @Test func maxPerSecondAppliesWithinAQuotaToo() {
        var state = answeredState(.init(maxPerSecond: 1), limit: 100, used: 1, resetIn: .seconds(60))
        #expect(state.decide(at: at(0)) == .sleep(until: at(1)))
        #expect(state.decide(at: at(1)) == .send)
        #expect(state.decide(at: at(1)) == .sleep(until: at(2)))
    }

    @Test func smoothingSpacesTheQuotaLeftOverTheTimeToTheReset() {
        var state = State(configuration: .init(smooth: true))
        state.restore(limit: 10, used: 0, resetIn: .seconds(99), window: nil, at: at(0))
        state.backlog = 50
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(99)), at: at(0))
        #expect(state.decide(at: at(0)) == .sleep(until: at(10)))
        #expect(state.decide(at: at(10)) == .send)
        #expect(state.decide(at: at(10)) == .sleep(until: at(20)))
        state.recordAnswer(quota(limit: 10, used: 2, resetIn: .seconds(88)), at: at(11))
        #expect(state.decide(at: at(20)) == .send)
        #expect(state.decide(at: at(20)) == .sleep(until: at(30)))
    }

    /// The backlog keeps the rows in flight until they finish: 9 rows fit the 9 calls left and all go at once.
    @Test(arguments: [(true, 9), (true, 5), (false, 50)])
    func noSmoothingWhenTheBacklogFitsOrSmoothingIsOff(smooth: Bool, backlog: Int) {
        var state = State(configuration: .init(smooth: smooth))
        state.restore(limit: 10, used: 0, resetIn: .seconds(99), window: nil, at: at(0))
        state.backlog = backlog
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(99)), at: at(0))
        for _ in 2...10 { #expect(state.decide(at: at(0)) == .send) }
        #expect(state.decide(at: at(0)) == .park)
    }

    // MARK: Adaptive mode

    /// Follows `.sleep` decisions until one says `.send`, and returns the instant of that send.
    private func sendWhenAllowed(_ state: inout State, from now: Instant) -> Instant {
        var now = now
        for _ in 0..<10 {
            let decision = state.decide(at: now)
            guard case .sleep(let until) = decision else {
                #expect(decision == .send)
                return now
            }
            now = until
        }
        Issue.record("still asked to sleep after 10 decisions")
        return now
    }

    @Test func adaptiveModeHasNoLimitUntilTheFirstRateLimitThenPacesAtTheProvenRate() throws {
        var state = State(configuration: .init())
        // Four per second, each answered at once: nothing holds them back. The tenth is throttled.
        for index in 0..<10 {
            let now = at(Double(index) * 0.25)
            #expect(state.decide(at: now) == .send)
            if index < 9 { state.recordAnswer(QuotaObservation(), at: now) }
        }
        state.recordRateLimit(QuotaObservation(), at: at(2.25), unitRandom: 0)
        // Nine successes in 2.25 s: the first probe waits their spacing, but a second at least.
        #expect(state.decide(at: at(2.25)) == .sleep(until: at(3.25)))
        #expect(state.decide(at: at(3.25)) == .send)
        state.recordAnswer(QuotaObservation(), at: at(3.6))
        // Nine successes from 0 s to the opening at 3.6 s: two and a half a second.
        let spacing = try #require(sleepSeconds(state.decide(at: at(3.6)), from: at(3.6)))
        #expect(abs(spacing - 3.6 / 9) < 1e-6)

        // A throttle now pauses for one spacing (the learned probe), not the backoff.
        let now = sendWhenAllowed(&state, from: at(3.6))
        state.recordRateLimit(QuotaObservation(), at: now, unitRandom: 0.99)
        let pause = try #require(sleepSeconds(state.decide(at: now), from: now))
        #expect(abs(pause - spacing) < 1e-6)
    }

    @Test func quotaHeadersTakeOverFromAdaptiveMode() {
        var state = State(configuration: .init())
        #expect(state.decide(at: at(0)) == .send)
        state.recordRateLimit(QuotaObservation(), at: at(0), unitRandom: 0)
        #expect(state.decide(at: at(0)) == .send)
        state.recordAnswer(quota(limit: 100, used: 2, resetIn: .seconds(60)), at: at(0))
        for _ in 0..<10 { #expect(state.decide(at: at(0)) == .send) }
    }
}
