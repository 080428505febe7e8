import TestSupport
import Testing

@testable import RateLimiter

@Suite(.timeLimit(.minutes(1))) struct RateLimiterTests {
    let clock = ManualClock()

    private func makeLimiter(
        _ configuration: RateLimiterConfiguration = .init(),
        unitRandom: Double = 0.5
    ) -> RateLimiter<ManualClock> {
        RateLimiter(configuration: configuration, clock: clock, unitRandom: { unitRandom })
    }

    private func acquirers(_ count: Int, of limiter: RateLimiter<ManualClock>) -> [Task<Void, any Error>] {
        (0..<count).map { _ in Task { try await limiter.acquire() } }
    }

    // MARK: Pacing

    @Test func firstRequestIsAloneUntilTheFirstAnswer() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        let waiters = acquirers(3, of: limiter)
        await limiter.waitForParked(3)
        #expect(limiter.snapshot.inFlight == 1)
        limiter.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(60)))
        try await finish(waiters)
        #expect(limiter.snapshot.inFlight == 3)
        #expect(clock.sleeperCount == 0)
    }

    @Test func sendsTheWindowsQuotaThenWaitsForTheResetAndGoesOn() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(60)))
        for _ in 2...10 { try await limiter.acquire() }  // as fast as allowed: no time passes
        #expect(clock.now == at(0))
        #expect(limiter.snapshot.inFlight == 9)
        #expect(limiter.snapshot.used == 10)

        let eleventh = Task { try await limiter.acquire() }
        await limiter.waitForParked(1)  // the requests in flight count against the quota
        #expect(limiter.snapshot.inFlight == 9)
        clock.advance(by: .seconds(1))
        for used in 2...10 { limiter.recordAnswer(quota(limit: 10, used: used, resetIn: .seconds(59))) }
        await clock.waitForSleepers(1)
        #expect(clock.nextDeadline == at(61))  // the reset plus the margin
        #expect(limiter.snapshot.inFlight == 0)
        clock.advance(to: at(60.5))
        #expect(clock.sleeperCount == 1)
        #expect(limiter.snapshot.inFlight == 0)
        clock.advance(to: at(61))
        try await finish([eleventh])
        #expect(limiter.snapshot.inFlight == 1)

        limiter.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(60)))
        for _ in 2...10 { try await limiter.acquire() }
        #expect(limiter.snapshot.inFlight == 9)
        #expect(limiter.snapshot.resetIn == .seconds(61))
    }

    @Test func snapshotCountsRequestsInFlightAsUsed() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 10, used: 3, resetIn: .seconds(60), window: .seconds(3_600)))
        try await limiter.acquire()
        try await limiter.acquire()
        clock.advance(by: .seconds(20))
        #expect(
            limiter.snapshot
                == QuotaSnapshot(
                    limit: 10,
                    used: 5,
                    window: .seconds(3_600),
                    resetIn: .seconds(41),
                    pausedFor: nil,
                    inFlight: 2
                )
        )
    }

    // MARK: Rate-limit answers

    @Test func rateLimitPausesEveryWaiterForRetryAfterThenOneProbeGoesFirst() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 100, used: 1, resetIn: .seconds(3_600)))
        try await limiter.acquire()
        try await limiter.acquire()
        limiter.recordRateLimit(QuotaObservation(retryAfter: .seconds(30)))

        let waiters = acquirers(5, of: limiter)
        await clock.waitForSleepers(5)
        #expect(clock.nextDeadline == at(30))
        #expect(limiter.snapshot.pausedFor == .seconds(30))
        #expect(limiter.snapshot.inFlight == 1)
        limiter.recordAnswer(quota(limit: 100, used: 3, resetIn: .seconds(3_600)))  // does not end the pause
        #expect(limiter.snapshot.inFlight == 0)
        clock.advance(by: .seconds(29))
        #expect(clock.sleeperCount == 5)
        #expect(limiter.snapshot.inFlight == 0)

        clock.advance(by: .seconds(1))
        await limiter.waitForParked(4)
        #expect(limiter.snapshot.inFlight == 1)  // the probe
        limiter.recordAnswer(quota(limit: 100, used: 4, resetIn: .seconds(3_570)))
        try await finish(waiters)
        #expect(limiter.snapshot.inFlight == 4)
        #expect(clock.now == at(30))
    }

    @Test func rateLimitOnTheFirstAnswerPausesTheParkedWaitersToo() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        let waiters = acquirers(3, of: limiter)
        await limiter.waitForParked(3)
        limiter.recordRateLimit(QuotaObservation(retryAfter: .seconds(20)))
        await clock.waitForSleepers(3)
        #expect(limiter.parkedCount == 0)
        #expect(clock.nextDeadline == at(20))
        #expect(limiter.snapshot.inFlight == 0)
        clock.advance(by: .seconds(20))
        await limiter.waitForParked(2)
        #expect(limiter.snapshot.inFlight == 1)
        limiter.recordAnswer(quota(limit: 100, used: 2, resetIn: .seconds(3_580)))
        try await finish(waiters)
        #expect(limiter.snapshot.inFlight == 2)
        #expect(limiter.snapshot.used == 4)
    }

    @Test(arguments: [0.0, 0.75, 0.999])
    func rateLimitWithoutResetOrRetryAfterPausesWithinTheBackoffCeiling(unitRandom: Double) async throws {
        let backoff = Backoff(base: .seconds(2), cap: .seconds(60))
        let limiter = makeLimiter(.init(backoff: backoff), unitRandom: unitRandom)
        // The first request is throttled: no success yet to learn a spacing from, so the backoff decides.
        try await limiter.acquire()
        limiter.recordRateLimit(QuotaObservation())
        let pause = try #require(limiter.snapshot.pausedFor)
        #expect(pause == backoff.delay(afterFailures: 1, unitRandom: unitRandom))
        #expect(pause <= backoff.ceiling(afterFailures: 1))

        let waiters = acquirers(3, of: limiter)
        if pause > .zero {
            await clock.waitForSleepers(3)
            #expect(clock.nextDeadline == at(0).advanced(by: pause))
            #expect(limiter.snapshot.inFlight == 0)
            clock.advance(by: pause)
        }
        await limiter.waitForParked(2)
        #expect(limiter.snapshot.inFlight == 1)
        limiter.recordAnswer(QuotaObservation())
        // Adaptive mode is on now: the other two leave spaced out, never together.
        for inFlight in 1...2 {
            await clock.waitForSleepers(1)
            let deadline = try #require(clock.nextDeadline)
            #expect(clock.now.duration(to: deadline) > .milliseconds(500))
            clock.advance(to: deadline)
            while limiter.snapshot.inFlight < inFlight, !Task.isCancelled { await Task.yield() }
            #expect(limiter.snapshot.inFlight == inFlight)
        }
        try await finish(waiters)
    }

    @Test func adaptiveModeStartsSlowlyAndHasNoRateUntilTheFirstRateLimit() async throws {
        let limiter = makeLimiter(unitRandom: 0)
        try await limiter.acquire()
        limiter.recordAnswer(QuotaObservation())  // slow start: two in flight now
        try await limiter.acquire()
        try await limiter.acquire()
        let third = Task { try await limiter.acquire() }
        await limiter.waitForParked(1)
        #expect(limiter.snapshot.inFlight == 2)
        limiter.recordAnswer(QuotaObservation())  // one answered, and the cap grew: the third goes
        try await finish([third])
        #expect(limiter.snapshot.inFlight == 2)
        for _ in 0..<300 {
            limiter.recordAnswer(QuotaObservation())
            try await limiter.acquire()
        }
        // The cap has grown past any concurrency; no rate applies before a rate limit.
        for _ in 0..<50 { try await limiter.acquire() }
        #expect(limiter.snapshot.inFlight == 52)
        #expect(limiter.snapshot.limit == nil)
        #expect(clock.sleeperCount == 0)
        #expect(clock.now == at(0))
    }

    // MARK: on_exhausted: stop

    @Test func stopPolicyThrowsWhenTheResetIsBeyondMaxWait() async throws {
        let limiter = makeLimiter(.init(onExhausted: .stop(maxWait: .seconds(60))))
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 10, used: 10, resetIn: .seconds(3_600)))
        await #expect(throws: RateLimiterError.quotaExhausted(resetIn: .seconds(3_601))) {
            try await limiter.acquire()
        }
        #expect(limiter.snapshot.inFlight == 0)
    }

    @Test func stopPolicyWaitsWhenTheResetIsWithinMaxWait() async throws {
        let limiter = makeLimiter(.init(onExhausted: .stop(maxWait: .seconds(60))))
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 10, used: 10, resetIn: .seconds(30)))
        let waiter = Task { try await limiter.acquire() }
        await clock.waitForSleepers(1)
        #expect(clock.nextDeadline == at(31))
        #expect(limiter.snapshot.inFlight == 0)
        clock.advance(by: .seconds(31))
        try await finish([waiter])
        #expect(limiter.snapshot.inFlight == 1)
    }

    // MARK: Restored quota

    @Test func restoredSpentWindowUnderStopThrowsWithoutARequest() async throws {
        let limiter = makeLimiter(.init(onExhausted: .stop(maxWait: .seconds(60))))
        limiter.restore(limit: 10, used: 10, resetIn: .seconds(600), window: .seconds(3_600))
        await #expect(throws: RateLimiterError.quotaExhausted(resetIn: .seconds(601))) {
            try await limiter.acquire()
        }
        #expect(limiter.snapshot.inFlight == 0)
        #expect(limiter.snapshot.used == 10)
    }

    @Test func restoredSpentWindowWaitsForTheResetWithoutARequest() async throws {
        let limiter = makeLimiter()
        limiter.restore(limit: 10, used: 10, resetIn: .seconds(600), window: .seconds(3_600))
        let waiter = Task { try await limiter.acquire() }
        await clock.waitForSleepers(1)
        #expect(clock.nextDeadline == at(601))
        #expect(limiter.snapshot.inFlight == 0)
        clock.advance(by: .seconds(601))
        try await finish([waiter])
        #expect(limiter.snapshot.inFlight == 1)
    }

    @Test func restoredWindowWithQuotaLeftLetsRequestsGo() async throws {
        let limiter = makeLimiter(.init(onExhausted: .stop(maxWait: .seconds(60))))
        limiter.restore(limit: 10, used: 7, resetIn: .seconds(600), window: .seconds(3_600))
        try await limiter.acquire()
        #expect(limiter.snapshot.used == 8)
        limiter.recordAnswer(quota(limit: 10, used: 8, resetIn: .seconds(600)))
        try await limiter.acquire()
        try await limiter.acquire()
        #expect(limiter.snapshot.inFlight == 2)
        #expect(clock.sleeperCount == 0)
    }

    // MARK: Local cap and smoothing

    @Test func maxPerSecondSpacesRequests() async throws {
        let limiter = makeLimiter(.init(maxPerSecond: 2))
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 1_000, used: 1, resetIn: .seconds(600)))
        try await limiter.acquire()  // the bucket's second token
        for _ in 0..<3 {
            let waiter = Task { try await limiter.acquire() }
            await clock.waitForSleepers(1)
            let deadline = try #require(clock.nextDeadline)
            #expect(clock.now.duration(to: deadline) == .milliseconds(500))
            clock.advance(to: deadline)
            try await finish([waiter])
        }
        #expect(clock.now == at(1.5))
        #expect(limiter.snapshot.inFlight == 4)
    }

    @Test func smoothingSpacesRequestsOverTheTimeToTheReset() async throws {
        let limiter = makeLimiter(.init(smooth: true))
        limiter.setBacklog(100)
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(89)))  // 9 calls left for 90 s
        try await limiter.acquire()
        for step in 1...3 {
            let waiter = Task { try await limiter.acquire() }
            await clock.waitForSleepers(1)
            #expect(clock.nextDeadline == at(Double(step) * 10))
            clock.advance(by: .seconds(10))
            try await finish([waiter])
        }
        #expect(limiter.snapshot.inFlight == 4)
    }

    @Test func noSmoothingWhenTheBacklogFitsTheQuotaLeft() async throws {
        let limiter = makeLimiter(.init(smooth: true))
        limiter.setBacklog(10)
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 10, used: 1, resetIn: .seconds(89)))
        limiter.setBacklog(9)
        for _ in 0..<9 { try await limiter.acquire() }
        #expect(limiter.snapshot.inFlight == 9)
        #expect(clock.now == at(0))
    }

    // MARK: Cancellation

    @Test func cancellingAParkedAcquirerThrowsAndLeaksNothing() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        let cancelled = Task { try await limiter.acquire() }
        let others = acquirers(2, of: limiter)
        await limiter.waitForParked(3)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(limiter.parkedCount == 2)
        #expect(limiter.snapshot.inFlight == 1)
        limiter.recordAnswer(quota(limit: 3, used: 1, resetIn: .seconds(60)))
        try await finish(others)
        #expect(limiter.snapshot.inFlight == 2)
        #expect(limiter.snapshot.used == 3)
    }

    @Test func cancellingASleepingAcquirerThrowsAndLeaksNothing() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        limiter.recordAnswer(quota(limit: 1, used: 1, resetIn: .seconds(59)))
        let cancelled = Task { try await limiter.acquire() }
        await clock.waitForSleepers(1)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(clock.sleeperCount == 0)
        #expect(limiter.snapshot.inFlight == 0)
        clock.advance(by: .seconds(60))
        try await limiter.acquire()
        #expect(limiter.snapshot.inFlight == 1)
    }

    @Test func cancelledTaskDoesNotAcquire() async throws {
        let limiter = makeLimiter()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await limiter.acquire()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(limiter.snapshot.inFlight == 0)
    }

    // MARK: Wake-ups

    @Test func sixtyFourWaitersAllGetThroughAsAnswersArrive() async throws {
        let limiter = makeLimiter()
        try await limiter.acquire()
        // The server's count lags: every answer says 0 used, so at most 4 leave at a time.
        let answer = quota(limit: 4, used: 0, resetIn: .seconds(3_600))
        let workers = (0..<64).map { _ in
            Task {
                try await limiter.acquire()
                limiter.recordAnswer(answer)
            }
        }
        await limiter.waitForParked(64)
        limiter.recordAnswer(answer)
        try await finish(workers)
        #expect(limiter.snapshot.inFlight == 0)
        #expect(limiter.parkedCount == 0)
        #expect(clock.sleeperCount == 0)
    }
}
