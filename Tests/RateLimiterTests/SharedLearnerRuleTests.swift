import Testing

@testable import RateLimiter

/// The shared learner's rules, one by one, on server epoch seconds: what the ledger grants without quota headers
/// before, during and after a throttle episode.
@Suite struct SharedLearnerRuleTests {
    private let oneSecond = Backoff(base: .seconds(1), cap: .seconds(60))

    private func take(_ quota: inout SharedQuota, _ want: Int = 8, at now: Double, share: Double = 1) -> SharedQuota.Grant {
        quota.take(want: want, now: now, margin: 1, probeTimeout: 30, share: share)
    }

    private func rateLimit(_ quota: inout SharedQuota, at now: Double, until: Double? = nil, sentUnder generation: Int?) {
        quota.recordRateLimit(until: until, now: now, margin: 1, backoff: oneSecond, unitRandom: 1, generation: generation)
    }

    /// Ten seconds of slow start (ten successes a second from t = 1000), then a rate limit at 1010.
    private func throttled() -> SharedQuota {
        var quota = SharedQuota()
        #expect(take(&quota, at: 1000) == .sends(1, reset: nil))  // the quota probe: no headers in its answer
        quota.recordHeaderless(1, at: 1000)
        #expect(take(&quota, at: 1000.1) == .unlimited)
        quota.recordHeaderless(99, at: 1010)
        rateLimit(&quota, at: 1010, sentUnder: nil)
        return quota
    }

    /// `throttled()`, after its pause, with the probe answered at 1012: the first episode is over.
    private func learned() throws -> SharedQuota {
        var quota = throttled()
        let pausedUntil = try #require(quota.pausedUntil)
        #expect(take(&quota, at: pausedUntil) == .probe(generation: 1))
        quota.recordHeaderless(1, at: 1012, generation: 1)
        return quota
    }

    @Test func untilTheFirstRateLimitEveryWorkerSendsAsItsOwnSlowStartAllows() {
        var quota = SharedQuota()
        _ = take(&quota, at: 1000)
        quota.recordHeaderless(1, at: 1000)
        #expect(take(&quota, at: 1000.5) == .unlimited)
        #expect(quota.learnedRate == nil && quota.generation == 0)
    }

    @Test func aRateLimitBeginsAnEpisodeThatOneProbeAtATimeEnds() throws {
        var quota = throttled()
        #expect(quota.generation == 1)
        let pausedUntil = try #require(quota.pausedUntil)
        #expect(pausedUntil > 1010)
        #expect(take(&quota, at: 1010.01) == .wait(until: pausedUntil))
        #expect(take(&quota, at: pausedUntil) == .probe(generation: 1))
        // The others wait for the probe's answer, asking again now and then.
        #expect(take(&quota, at: pausedUntil + 0.01) == .wait(until: pausedUntil + 0.06))
        quota.recordHeaderless(1, at: pausedUntil + 0.1, generation: 1)
        let rate = try #require(quota.learnedRate)
        #expect(rate > 5 && rate <= 10, "about the ten a second the period proved")
        guard case .paced(_, _, let every, let generation) = take(&quota, at: pausedUntil + 0.1) else {
            Issue.record("no paced grant once the episode ended")
            return
        }
        #expect(abs(every - 1 / rate) < 1e-9 && generation == 1)
    }

    @Test func aSuccessOfASendGrantedBeforeTheEpisodeBeganEndsNothing() throws {
        var quota = throttled()
        let pausedUntil = try #require(quota.pausedUntil)
        #expect(take(&quota, at: pausedUntil) == .probe(generation: 1))
        quota.recordHeaderless(3, at: pausedUntil + 0.05, generation: 0)  // slots another worker still held
        #expect(quota.learnedRate == nil)
        guard case .wait(let until) = take(&quota, at: pausedUntil + 0.06) else {
            Issue.record("the probe is no longer awaited")
            return
        }
        #expect(abs(until - (pausedUntil + 0.11)) < 1e-9, "the probe is still awaited")
    }

    @Test func aRateLimitOfASendGrantedBeforeTheEpisodeBeganNeitherPausesNorCounts() throws {
        var quota = try learned()
        _ = take(&quota, at: 1013)
        rateLimit(&quota, at: 1014, sentUnder: 1)  // a new episode
        #expect(quota.generation == 2)
        let pausedUntil = try #require(quota.pausedUntil)
        let throttles = quota.learner.episodeThrottles
        rateLimit(&quota, at: 1014.01, sentUnder: 1)
        #expect(quota.pausedUntil == pausedUntil && quota.learner.episodeThrottles == throttles)
        // Its `Retry-After` still holds.
        rateLimit(&quota, at: 1014.02, until: pausedUntil + 5, sentUnder: 1)
        #expect(quota.pausedUntil == pausedUntil + 5)
    }

    @Test func slotsAreGrantedAtMostAGrantsSpanAheadSoFewAreHeldWhenAThrottleComes() throws {
        var quota = try learned()
        let rate = try #require(quota.learnedRate)
        var now = 1012.0
        var from: Double?
        for _ in 0..<20 {
            switch take(&quota, 1, at: now) {
            case .paced(let count, let start, let every, _):
                #expect(count == 1)
                #expect(start <= now + quota.adaptation.grantSpan + 1e-9)
                if let from { #expect(abs(start - from) < 1e-6, "slots follow one another at the learned pace") }
                from = start + every
            case .wait(let until):
                let next = try #require(from)
                #expect(abs(until - (next - quota.adaptation.grantSpan)) < 1e-6)
                now = until
            default: Issue.record("neither a slot nor a wait")
            }
        }
        #expect(try #require(from) > 1012 + 5 / rate, "the pace was kept")
    }

    @Test func theShareOfTheLearnedRateIsWhatIsPaced() throws {
        var quota = try learned()
        let rate = try #require(quota.learnedRate)
        guard case .paced(_, _, let every, _) = take(&quota, at: 1012.5, share: 0.5) else {
            Issue.record("no paced grant")
            return
        }
        #expect(abs(every - 2 / rate) < 1e-9)
    }

    @Test func slotsGivenBackAreGrantedAgainOnlyWhenTheyAreTheLastOnes() throws {
        var quota = try learned()
        let rate = try #require(quota.learnedRate)
        guard case .paced(let count, let from, let every, _) = take(&quota, 8, at: 1012.2) else {
            Issue.record("no paced grant")
            return
        }
        let end = from + Double(count) * every
        quota.giveBackSlots(count, endingAt: end + 1, now: 1012.2)  // not the last ones: kept
        #expect(take(&quota, 1, at: 1012.2) != .paced(1, from: from, every: 1 / rate, generation: 1))
        var again = try learned()
        _ = take(&again, 8, at: 1012.2)
        again.giveBackSlots(count, endingAt: end, now: 1012.2)
        #expect(take(&again, 1, at: 1012.2) == .paced(1, from: from, every: 1 / rate, generation: 1))
    }

    @Test func anEpisodeLastsUntilAProbeIsAnsweredHoweverLongThePause() throws {
        var quota = throttled()
        // The headerless minute passes with the episode still on: a probe of the episode, not of the quota.
        #expect(take(&quota, at: 1100) == .probe(generation: 1))
    }

    @Test func theLedgerTakesEvery429AsARatesForNoWorkerSeesTheCampaignsNumberInFlight() {
        let quota = throttled()
        #expect(quota.learner.inFlightLimit.limitsRate)
    }
}
