import Testing

@testable import RateLimiter

/// The quota row the workers share: one probe while a window is unknown, never more than the limit granted in a
/// window, pauses and headerless answers seen by every worker. All instants are server epoch seconds.
@Suite struct SharedQuotaTests {
    private let margin = 1.0
    private let probeTimeout = 30.0
    private let tolerance = 2.0  // what the gate passes: twice the margin
    /// Backoffs whose first wait (at the top of the jitter) is five seconds, or one.
    let fiveSeconds = Backoff(base: .seconds(5), cap: .seconds(60))
    let oneSecond = Backoff(base: .seconds(1), cap: .seconds(60))

    private func take(_ quota: inout SharedQuota, _ want: Int = 8, at now: Double) -> SharedQuota.Grant {
        quota.take(want: want, now: now, margin: margin, probeTimeout: probeTimeout)
    }

    private func report(limit: Int = 300, used: Int, reset: Double?, window: Double? = nil, at: Double) -> SharedQuota.Report {
        SharedQuota.Report(limit: limit, used: used, resetEpoch: reset, windowSeconds: window, at: at)
    }

    /// The instant a `.wait` grant says to ask again; nil for any other grant.
    private func waitUntil(_ grant: SharedQuota.Grant) -> Double? {
        guard case .wait(let until) = grant else { return nil }
        return until
    }

    /// A quota past its first answer: the probe granted at t = 1000 and answered with `limit`, `used` and `reset`.
    private func answered(limit: Int = 300, used: Int = 1, reset: Double = 1010) -> SharedQuota {
        var quota = SharedQuota()
        #expect(take(&quota, at: 1000) == .sends(1, reset: nil))
        quota.record(report(limit: limit, used: used, reset: reset, at: 1000), tolerance: tolerance)
        return quota
    }

    @Test func firstTakeIsOneProbeAndTheOthersWaitForItsAnswerOrItsTimeout() throws {
        var quota = SharedQuota()
        #expect(take(&quota, 8, at: 1000) == .sends(1, reset: nil))
        #expect(quota.granted == 1)
        for now in [1000.0, 1010, 1029.9] {
            let until = try #require(waitUntil(take(&quota, at: now)))
            #expect(until > now && until <= now + 0.05)
        }
        #expect(quota.granted == 1)
        #expect(take(&quota, 8, at: 1030) == .sends(1, reset: nil))  // the probe timed out: another one goes
        #expect(quota.granted == 2)
        #expect(waitUntil(take(&quota, at: 1030)) != nil)
    }

    @Test func grantsTheWholeLimitInBatchesThenWaitsForTheResetPlusMargin() {
        var quota = answered(limit: 300, used: 1, reset: 1010)
        #expect(take(&quota, 8, at: 1000) == .sends(8, reset: 1010))
        var total = 1 + 8  // the probe and the first batch
        for _ in 0..<100 {
            guard case .sends(let count, let reset) = take(&quota, 8, at: 1001) else { break }
            #expect((1...8).contains(count))
            #expect(reset == 1010)
            total += count
        }
        #expect(total == 300)
        #expect(quota.granted == 300)
        #expect(take(&quota, at: 1001) == .wait(until: 1011))
        #expect(take(&quota, at: 1010.5) == .wait(until: 1011))
    }

    @Test func serverUsedCountRaisesGrantedButNeverLowersIt() {
        var quota = answered()
        #expect(take(&quota, 8, at: 1000) == .sends(8, reset: 1010))
        #expect(quota.granted == 9)
        quota.record(report(used: 120, reset: 1010, at: 1001), tolerance: tolerance)  // another client spent quota
        #expect(quota.granted == 120)
        quota.record(report(used: 5, reset: 1010, at: 1002), tolerance: tolerance)
        #expect(quota.granted == 120)
        #expect(quota.resetEpoch == 1010)
        #expect(take(&quota, 500, at: 1002) == .sends(180, reset: 1010))  // only what is left
    }

    @Test func turnedWindowProbesAgainAndIgnoresLateReportsFromTheEndedOne() throws {
        var quota = answered(limit: 300, used: 1, reset: 1010)
        // Past the reset nothing more comes from the ended window: a send now would land in the next one.
        #expect(take(&quota, 8, at: 1010) == .wait(until: 1011))
        #expect(take(&quota, 8, at: 1010.9) == .wait(until: 1011))
        #expect(take(&quota, 8, at: 1011) == .sends(1, reset: nil))
        #expect(quota.endedReset == 1010)
        #expect(quota.granted == 1)
        // Late answers from the ended window (its reset exactly, or within the tolerance) do not bring it back.
        quota.record(report(used: 299, reset: 1010, at: 1009), tolerance: tolerance)
        quota.record(report(used: 299, reset: 1011.5, at: 1009.5), tolerance: tolerance)
        #expect(quota.resetEpoch == nil)
        #expect(quota.granted == 1)
        let until = try #require(waitUntil(take(&quota, at: 1011.5)))  // still waiting on the probe
        #expect(until <= 1011.5 + 0.05)
        // The probe's answer opens the new window.
        quota.record(report(used: 1, reset: 1070, at: 1011), tolerance: tolerance)
        #expect(quota.resetEpoch == 1070)
        #expect(quota.probeUntil == nil)
        #expect(take(&quota, 8, at: 1012) == .sends(8, reset: 1070))
    }

    @Test func rateLimitWithUntilPausesEveryTakeUntilThen() {
        var quota = answered()
        quota.recordRateLimit(until: 1005, now: 1000, margin: margin, backoff: fiveSeconds, unitRandom: 1)
        for now in [1000.0, 1002, 1004.99] { #expect(take(&quota, at: now) == .wait(until: 1005)) }
        #expect(quota.granted == 1)  // a given instant does not mark the window spent
        quota.recordRateLimit(until: 1003, now: 1001, margin: margin, backoff: fiveSeconds, unitRandom: 1)  // a shorter pause keeps the longer
        #expect(take(&quota, at: 1004) == .wait(until: 1005))
        #expect(take(&quota, 8, at: 1005) == .sends(8, reset: 1010))
        #expect(quota.pausedUntil == nil)
    }

    @Test func rateLimitWithoutUntilSpendsTheWindowAndPausesUntilItsReset() {
        var quota = answered(limit: 300, used: 1, reset: 1010)
        #expect(take(&quota, 8, at: 1000) == .sends(8, reset: 1010))
        quota.recordRateLimit(until: nil, now: 1001, margin: margin, backoff: fiveSeconds, unitRandom: 1)
        #expect(quota.granted >= 300)
        #expect(quota.pausedUntil == 1011)
        #expect(take(&quota, at: 1001) == .wait(until: 1011))
        #expect(take(&quota, at: 1010.9) == .wait(until: 1011))
        #expect(take(&quota, 8, at: 1011) == .sends(1, reset: nil))  // the new window's probe
    }

    @Test func rateLimitWithNothingKnownPausesForTheFallback() {
        var quota = SharedQuota()
        #expect(take(&quota, at: 1000) == .sends(1, reset: nil))
        quota.recordRateLimit(until: nil, now: 1000, margin: margin, backoff: fiveSeconds, unitRandom: 1)
        #expect(quota.pausedUntil == 1005)
        #expect(take(&quota, at: 1000) == .wait(until: 1005))
        #expect(take(&quota, at: 1004.9) == .wait(until: 1005))
        #expect(take(&quota, 8, at: 1005) == .sends(1, reset: nil))  // the pause ended the probe: probe again
    }

    @Test func headerlessAnswersMakeTakesUnlimitedForAMinuteThenAProbeGoes() {
        var quota = SharedQuota()
        #expect(take(&quota, at: 1000) == .sends(1, reset: nil))
        quota.recordHeaderless(at: 1000)
        for now in [1000.0, 1030, 1059.9] { #expect(take(&quota, at: now) == .unlimited) }
        #expect(take(&quota, at: 1060) == .sends(1, reset: nil))
        #expect(waitUntil(take(&quota, at: 1060)) != nil)
        // Rate-limit pauses are shared even without quota headers.
        quota.recordHeaderless(at: 1061)
        quota.recordRateLimit(until: 1070, now: 1061, margin: margin, backoff: fiveSeconds, unitRandom: 1)
        #expect(take(&quota, at: 1062) == .wait(until: 1070))
        // After it, one probe finds out whether the gateway opened (SharedLearnerRuleTests has the rest).
        #expect(take(&quota, at: 1070) == .probe(generation: 1))
    }

    @Test func answerWithQuotaHeadersEndsTheHeaderlessStateAtOnce() {
        var quota = SharedQuota()
        #expect(take(&quota, at: 1000) == .sends(1, reset: nil))
        quota.recordHeaderless(at: 1000)
        #expect(take(&quota, at: 1000) == .unlimited)
        quota.record(report(used: 2, reset: 1030, at: 1001), tolerance: tolerance)
        #expect(quota.headerlessUntil == nil)
        #expect(take(&quota, 8, at: 1001) == .sends(8, reset: 1030))
        #expect(quota.granted == 10)
    }

    @Test func reportWithoutResetCountsTheWindowFromItsAnswer() {
        var quota = SharedQuota()
        #expect(take(&quota, at: 1000) == .sends(1, reset: nil))
        quota.record(report(limit: 100, used: 1, reset: nil, window: 60, at: 1002), tolerance: tolerance)
        #expect(quota.windowSeconds == 60)
        #expect(quota.resetEpoch == 1062)
        #expect(take(&quota, 8, at: 1002) == .sends(8, reset: 1062))
    }

    /// Three workers over twenty 10-second windows, each asking for 1 to 16 sends and reporting what the server
    /// counted at its next turn. Sends count in the server window of the instant they were granted.
    @Test(arguments: [3, 5]) func workersTogetherNeverSendMoreThanTheLimitInAnyWindow(workers: Int) {
        for start in UInt64(1)...300 { simulate(workers: workers, seed: start) }
    }

    /// `workers` asking in a random order for random batches over 20 windows; their reports reach the ledger
    /// with their next request, as the gate sends them.
    func simulate(workers: Int, seed start: UInt64) {
        let (limit, windows) = (40, 20)
        var seed = start
        func next(_ bound: Int) -> Int {  // a 64-bit LCG: deterministic, the same on every run
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        var quota = SharedQuota()
        var sent = [Int](repeating: 0, count: windows)  // what the server counted in each window
        var pending = [SharedQuota.Report?](repeating: nil, count: workers)
        var tenths = 0
        while tenths < windows * 100 {
            let now = 1000 + Double(tenths) / 10
            let window = tenths / 100
            let worker = next(workers)
            if let answer = pending[worker] { quota.record(answer, tolerance: tolerance) }
            pending[worker] = nil
            switch take(&quota, 1 + next(16), at: now) {
            case .sends(let count, _):
                sent[window] += count
                let reset = 1000 + Double(window + 1) * 10
                pending[worker] = report(limit: limit, used: sent[window], reset: reset, at: now)
            case .wait: break
            case .unlimited, .paced, .probe: Issue.record("unlimited or paced without a headerless answer")
            }
            tenths += 1 + next(5)
        }
        #expect(sent.allSatisfy { $0 <= limit }, "seed \(start), sent per window: \(sent)")
        #expect(sent.filter { $0 == limit }.count >= windows / 2, "seed \(start), sent per window: \(sent)")  // the limit was reached
    }
}

extension SharedQuotaTests {
    @Test func sendsGivenBackInTheirWindowCanBeGrantedAgainButNotInTheNext() {
        var quota = SharedQuota()
        #expect(quota.take(want: 8, now: 1000, margin: 1, probeTimeout: 30) == .sends(1, reset: nil))
        quota.record(SharedQuota.Report(limit: 10, used: 1, resetEpoch: 1010, windowSeconds: nil, at: 1000), tolerance: 2)
        #expect(quota.take(want: 9, now: 1001, margin: 1, probeTimeout: 30) == .sends(9, reset: 1010))
        quota.giveBack(4, reset: 1010.5, tolerance: 2)
        #expect(quota.granted == 6)
        #expect(quota.take(want: 9, now: 1002, margin: 1, probeTimeout: 30) == .sends(4, reset: 1010))
        quota.giveBack(4, reset: 990, tolerance: 2)  // from a window that has ended: ignored
        #expect(quota.granted == 10)
    }
}

extension SharedQuotaTests {
    @Test func aSpentWindowIsAskedAgainSoonSoSendsGivenBackInItAreUsed() throws {
        var quota = SharedQuota()
        #expect(take(&quota, at: 1000) == .sends(1, reset: nil))
        quota.record(report(limit: 10, used: 1, reset: 1010, window: 10, at: 1000), tolerance: tolerance)
        #expect(take(&quota, 9, at: 1001) == .sends(9, reset: 1010))
        // Spent: not until the reset, but a fiftieth of the window later.
        let again = try #require(waitUntil(take(&quota, 8, at: 1002)))
        #expect(abs(again - 1002.2) < 1e-9)
        // The worker that held three sends ran out of rows and gave them back.
        quota.giveBack(3, reset: 1010, tolerance: tolerance)
        #expect(take(&quota, 8, at: again) == .sends(3, reset: 1010))
        // Near the reset the wait ends at the reset plus the margin.
        #expect(take(&quota, 8, at: 1010.95) == .wait(until: 1011))
    }
}
