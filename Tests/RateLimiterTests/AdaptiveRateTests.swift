import TestSupport
import Testing

@testable import RateLimiter

/// The episode learner on the manual clock: each test drives sends, successes and throttles at chosen instants.
@Suite struct AdaptiveRateTests {
    /// The pause a throttle answers (nil for none, or for a limit on requests in flight).
    private func pause(_ response: AdaptiveRate<Instant>.ThrottleResponse) -> Duration? {
        if case .pause(let pause) = response { pause } else { nil }
    }

    /// Forty requests sent at once (a burst: slow start's pace proves nothing) answered 0.25 s apart (t = 0 … 9.75), a
    /// throttle at 10 s, and the first success after it at `opening`.
    private func learnedFromOneEpisode(opening: Double = 12) -> AdaptiveRate<Instant> {
        var rate = AdaptiveRate<Instant>()
        for _ in 0..<40 { rate.recordSend(at: at(0)) }
        for index in 0..<40 { rate.recordSuccess(at: at(Double(index) * 0.25)) }
        _ = rate.recordThrottle(at: at(10))
        rate.recordSend(at: at(opening))
        rate.recordSuccess(at: at(opening))
        return rate
    }

    @Test func aGatewayThatNeverThrottlesAgainDoesNotDoubleTheRateToInfinity() throws {
        var rate = learnedFromOneEpisode()
        // Learned in slow start: no ceiling, so the rate doubles every step of clean successes.
        #expect(rate.ceiling == nil)
        for index in 0..<40_000 {
            let now = at(12 + Double(index) * 1e-6)
            rate.recordSend(at: now)
            rate.recordSuccess(at: now)
        }
        let learned = try #require(rate.ratePerSecond)
        #expect(learned.isFinite && learned <= rate.most)
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
        rate.recordSend(at: at(0))
        rate.recordSuccess(at: at(0))
        #expect(rate.allowsAnother(inFlight: 1))
        #expect(!rate.allowsAnother(inFlight: 2))
    }

    @Test func theFirstThrottleEndsSlowStartAndLeavesThePauseToTheCallerUntilASuccessIsSeen() {
        var rate = AdaptiveRate<Instant>()
        rate.recordSend(at: at(0))
        #expect(rate.recordThrottle(at: at(0)) == .pause(nil))
        #expect(rate.allowsAnother(inFlight: 100))
        #expect(!rate.isActive)
    }

    @Test func theFirstEpisodeProbesFromTheSuccessesSpacingASecondAtLeastUpToAMinute() throws {
        // 10 successes in 40 s: probes 4 s apart, doubling with each probe turned away, at most 60 s.
        var slow = AdaptiveRate<Instant>()
        for index in 0..<10 {
            slow.recordSend(at: at(Double(index) * 4))
            slow.recordSuccess(at: at(Double(index) * 4))
        }
        var pauses: [Double] = []
        for probe in 0..<6 {
            let pause = self.pause(slow.recordThrottle(at: at(40 + Double(probe))))
            pauses.append(try #require(pause).seconds)
            slow.recordSend(at: at(40 + Double(probe)))
        }
        #expect(pauses == [4, 8, 16, 32, 60, 60])
        // A burst of 20 in a moment: a second, not a twentieth of one.
        var burst = AdaptiveRate<Instant>()
        for _ in 0..<20 {
            burst.recordSend(at: at(0))
            burst.recordSuccess(at: at(0.1))
        }
        #expect(burst.recordThrottle(at: at(0.2)) == .pause(.seconds(1)))
    }

    @Test func throttlesOfRequestsAlreadyInFlightDoNotDoubleThePause() throws {
        var rate = learnedFromOneEpisode(opening: 12)
        let spacing = 1 / (try #require(rate.ratePerSecond))
        // Eight requests in flight when the window ran out come back 429: the same pause for each.
        for _ in 0..<8 { rate.recordSend(at: at(13)) }
        let inFlight = (0..<8).map { _ in pause(rate.recordThrottle(at: at(14))) }
        #expect(Set(inFlight).count == 1)
        #expect(abs(try #require(inFlight.first ?? nil).seconds - spacing) < 1e-9)
        // The first probe turned away doubles it.
        rate.recordSend(at: at(15))
        let doubled = pause(rate.recordThrottle(at: at(15)))
        #expect(abs(try #require(doubled).seconds - 2 * spacing) < 1e-9)
    }

    @Test func aLateSuccessOfARequestSentBeforeTheEpisodeDoesNotEndIt() throws {
        var rate = learnedFromOneEpisode(opening: 12)
        let learned = try #require(rate.ratePerSecond)
        rate.recordSend(at: at(13))
        rate.recordSend(at: at(13.1))
        _ = rate.recordThrottle(at: at(13.2))  // the second request
        rate.recordSuccess(at: at(13.3))  // the first one, answered late
        #expect(rate.episodeThrottles == 1)
        #expect(rate.ratePerSecond == learned)
        // A probe sent in the episode that gets through is the opening.
        rate.recordSend(at: at(20))
        rate.recordSuccess(at: at(20))
        #expect(rate.episodeThrottles == 0)
        #expect(rate.learnedWindow == .seconds(8))
    }

    @Test func theOpeningAfterAnEpisodeSetsTheRateThePeriodProvedAndLearnsTheWindow() throws {
        let rate = learnedFromOneEpisode(opening: 12)
        // 40 successes from the first send (0 s) to the opening (12 s): 40 / 12 per second, the window 12 s.
        let perSecond = try #require(rate.ratePerSecond)
        #expect(abs(perSecond - 40.0 / 12) < 1e-9)
        #expect(rate.learnedWindow == .seconds(12))
        // Sends are spaced at that rate from the opening on.
        let next = try #require(rate.sendTime(at: at(12)))
        #expect(abs(at(12).duration(to: next).seconds - 12.0 / 40) < 1e-9)
    }

    @Test func theNextPeriodIsMeasuredFromOpeningToOpening() throws {
        var rate = learnedFromOneEpisode(opening: 12)
        // 29 more successes (30 counting the opening) in a window of 12 s, a throttle, an opening at 24 s.
        for index in 1..<30 { rate.recordSuccess(at: at(12 + Double(index) * 0.3)) }
        _ = rate.recordThrottle(at: at(21))
        rate.recordSend(at: at(24))
        rate.recordSuccess(at: at(24))
        #expect(abs(try #require(rate.ratePerSecond) - 30.0 / 12) < 1e-9)
        #expect(rate.learnedWindow == .seconds(12))
    }

    @Test func probesInsideAnEpisodeDoubleTheirSpacingUpToASixteenthOfTheWindow() throws {
        // Two openings 12 s apart: a window learned from their spacing.
        var rate = learnedFromOneEpisode(opening: 12)
        for index in 1..<30 { rate.recordSuccess(at: at(12 + Double(index) * 0.3)) }
        _ = rate.recordThrottle(at: at(21))
        rate.recordSend(at: at(24))
        rate.recordSuccess(at: at(24))
        #expect(rate.learnedWindow == .seconds(12))
        let spacing = 1 / (try #require(rate.ratePerSecond))
        let pauses = (0..<6).map { probe in
            defer { rate.recordSend(at: at(25 + Double(probe))) }
            return pause(rate.recordThrottle(at: at(25 + Double(probe))))
        }
        let cap = 12.0 / 16
        let expected = (0..<6).map { min(spacing * Double(1 << $0), cap) }
        for (pause, expected) in zip(pauses, expected) {
            #expect(abs(try #require(pause).seconds - expected) < 1e-9)
        }
        #expect(pauses.last == .seconds(cap))
    }

    @Test func aWindowLearnedFromTheFirstPeriodAloneDoesNotCapTheProbes() throws {
        // The first period may be a fragment of a window (the run began inside it): probes double past its
        // sixteenth, up to the minute allowed before any window is known.
        var rate = learnedFromOneEpisode(opening: 12)
        #expect(rate.learnedWindow == .seconds(12))
        for _ in 1..<20 { rate.recordSuccess(at: at(13)) }
        let spacing = 1 / (try #require(rate.ratePerSecond))
        let pauses = (0..<8).map { probe in
            defer { rate.recordSend(at: at(14 + Double(probe))) }
            return pause(rate.recordThrottle(at: at(14 + Double(probe))))
        }
        let expected = (0..<8).map { min(spacing * Double(1 << $0), 60) }
        for (pause, expected) in zip(pauses, expected) {
            #expect(abs(try #require(pause).seconds - expected) < 1e-9)
        }
        #expect(try #require(pauses.last ?? nil).seconds > 12.0 / 16)
    }

    @Test func anEpisodeMetAtAPaceKeepsTheRateUnderThatCeiling() throws {
        var rate = learnedFromOneEpisode(opening: 12)  // 40 / 12 a second, no ceiling yet (met in slow start)
        #expect(rate.ceiling == nil)
        let pace = try #require(rate.ratePerSecond)
        // A period proving more than the pace (a burst) meets a throttle: the rate stays under 95% of the pace.
        for _ in 1..<40 { rate.recordSuccess(at: at(12.5)) }
        _ = rate.recordThrottle(at: at(13))
        rate.recordSend(at: at(13.5))
        rate.recordSuccess(at: at(13.5))
        #expect(rate.ceiling == pace)
        #expect(abs(try #require(rate.ratePerSecond) - pace * 0.95) < 1e-9)
    }

    @Test func aLongEpisodeAfterALongClimbCountsTheLastLearnedWindowNotTheAverage() throws {
        var rate = learnedFromOneEpisode(opening: 12)  // learned window 12 s
        // 60 s of successes: one a second for 48 s, then 48 in the last 12 s (4 a second).
        var now = 12.0
        for _ in 0..<48 {
            now += 1
            rate.recordSuccess(at: at(now))
        }
        for _ in 0..<48 {
            now += 0.25
            rate.recordSuccess(at: at(now))
        }
        let held = try #require(rate.heldRate)
        _ = rate.recordThrottle(at: at(now))
        rate.recordSend(at: at(now + 3))
        rate.recordSuccess(at: at(now + 3))  // a long episode: the window turned
        // The period's average is 97 / 75 s; its last 12 s (to the opening) hold 37 successes. (Half the target
        // under the ceiling, or the last clean step's rate, when more, is the floor: AdaptiveRateRecoveryTests.)
        let perSecond = try #require(rate.ratePerSecond)
        let ceiling = try #require(rate.ceiling)
        #expect(abs(perSecond - min(max(37.0 / 12, ceiling * 0.95 / 2, held), ceiling * 0.95)) < 1e-9)
        #expect(perSecond > 97.0 / 75)
    }

    @Test func beforeACeilingALearnedWindowOfCleanSuccessesIsAStepToo() throws {
        // Learned in slow start (no ceiling), window 1 s; successes one a second: each is a step, doubling the rate.
        var rate = AdaptiveRate<Instant>()
        rate.recordSend(at: at(0))
        rate.recordSuccess(at: at(0))
        _ = rate.recordThrottle(at: at(0.01))
        rate.recordSend(at: at(1))
        rate.recordSuccess(at: at(1))
        let learned = try #require(rate.ratePerSecond)
        #expect(rate.ceiling == nil)
        for second in 2...4 {
            rate.recordSend(at: at(Double(second)))
            rate.recordSuccess(at: at(Double(second)))
        }
        #expect(try #require(rate.ratePerSecond) >= learned * 4, "doubled at least twice in three seconds")
    }

    @Test func cleanStepsDoubleWithoutACeilingAndCloseHalfTheGapUnderOne() throws {
        // Without a ceiling each clean step (here 40 successes, the last period's) doubles the rate.
        var rate = learnedFromOneEpisode(opening: 12)
        let start = try #require(rate.ratePerSecond)
        for _ in 0..<40 { rate.recordSuccess(at: at(13)) }
        #expect(try #require(rate.ratePerSecond) == start * 2)
        // Under a ceiling (met at 3.8 a second, the period proving 2) each step closes half the gap to 95% of it.
        var capped = AdaptiveRate<Instant>()
        capped.restore(ratePerSecond: 3.8, window: .seconds(10))  // its ceiling 4
        for index in 0..<20 {
            capped.recordSend(at: at(Double(index) * 0.3))
            capped.recordSuccess(at: at(Double(index) * 0.3))
        }
        _ = capped.recordThrottle(at: at(6))
        capped.recordSend(at: at(10))
        capped.recordSuccess(at: at(10))  // 20 successes over 10 s: 2 a second
        #expect(capped.ceiling == 3.8)
        #expect(capped.ratePerSecond == 2)
        for _ in 0..<20 { capped.recordSuccess(at: at(11)) }
        let halfway: Double = 2 + (3.8 * 0.95 - 2) / 2
        let climbed = try #require(capped.ratePerSecond)
        #expect(abs(climbed - halfway) < 1e-9)
        // At the target it holds for eight steps, then the ceiling rises by a tenth (a loosened limit is found).
        for _ in 0..<(20 * 20) { capped.recordSuccess(at: at(12)) }
        let raised = try #require(capped.ceiling)
        #expect(abs(raised - 3.8 * 1.1) < 1e-9)
    }

    @Test func aRestoredRatePacesFromTheFirstSendWithoutSlowStart() throws {
        var rate = AdaptiveRate<Instant>()
        rate.restore(ratePerSecond: 2, window: .seconds(60))
        #expect(rate.allowsAnother(inFlight: 50))
        #expect(rate.learnedWindow == .seconds(60))
        rate.recordSend(at: at(0))
        #expect(rate.sendTime(at: at(0)) == at(0.5))
        // A rate that is not a rate is ignored.
        var fresh = AdaptiveRate<Instant>()
        for nonsense in [0, -1, .infinity, .nan] { fresh.restore(ratePerSecond: nonsense, window: nil) }
        #expect(!fresh.isActive)
    }

    @Test func rateNeverFallsBelowTheFloor() throws {
        var rate = AdaptiveRate<Instant>()
        rate.recordSend(at: at(0))
        rate.recordSuccess(at: at(0))
        _ = rate.recordThrottle(at: at(1))
        rate.recordSend(at: at(1_000_000))
        rate.recordSuccess(at: at(1_000_000))
        #expect(try #require(rate.ratePerSecond) == rate.floor)
    }
}
