/// Without quota headers the workers share one ``AdaptiveRate``, the learner one process uses, kept in the ledger
/// and run on the server's clock: every worker's sends, successes and rate limits reach it, so together they learn
/// a gateway as one process does.
///
/// - Until the first rate limit every worker sends as its own slow start allows (``SharedQuota/Grant/unlimited``).
/// - A rate limit begins an *episode* (a new ``SharedQuota/generation``): every worker pauses as long as the learner
///   says, then one probe at a time (``SharedQuota/Grant/probe(generation:)``) finds out whether the gateway opened.
/// - The probe's success ends the episode with the rate the period proved; from then on slots at that rate, which
///   no other worker holds, are handed out (``SharedQuota/Grant/paced(_:from:every:generation:)``), half a second
///   of them at a time.
///
/// Answers of sends granted before the current episode began are counted, but neither end it nor prolong it.
extension SharedQuota {
    /// The rate the workers together are paced at (requests a second, before `quota.share`); nil before one is
    /// learned.
    public var learnedRate: Double? { learner.ratePerSecond }

    /// The learner's window (the spacing of its last two episodes), in seconds.
    public var learnedWindowSeconds: Double? { learner.learnedWindow?.seconds }

    mutating func pace(want: Int, now: Double, share: Double, probeTimeout: Double) -> Grant {
        learner.share = min(max(share, 0.01), 1)
        let instant = ServerInstant(epochSeconds: now)
        if learner.episodeThrottles > 0 {
            if let probeUntil, now < probeUntil { return .wait(until: min(probeUntil, now + 0.05)) }
            probeUntil = now + probeTimeout
            learner.recordSend(at: instant)
            return .probe(generation: generation)
        }
        guard let rate = learner.ratePerSecond.map({ $0 * learner.share }) else {
            // Slow start: the first episode's probes are spaced by the successes since the first send.
            learner.recordSend(at: instant)
            return .unlimited
        }
        let from = learner.sendTime(at: instant)?.epochSeconds ?? now
        // Slots are granted at most a grant's span ahead: a slot granted is sent even after another worker met a
        // throttle, so the slots the workers hold together stay few.
        if from > now + adaptation.grantSpan { return .wait(until: from - adaptation.grantSpan) }
        let count = min(max(want, 1), max(1, Int(rate * adaptation.grantSpan)))
        for _ in 0..<count { learner.recordSend(at: instant) }
        return .paced(count, from: from, every: 1 / rate, generation: generation)
    }

    /// A worker gives back paced slots it will not use (it has no rows left): when they are the last ones
    /// granted, later grants start earlier.
    public mutating func giveBackSlots(_ count: Int, endingAt end: Double, now: Double) {
        guard count > 0, learner.episodeThrottles == 0, let next = learner.nextSend, abs(next.epochSeconds - end) < 1e-6 else { return }
        // A slot before now is gone: the next grant starts now at the earliest.
        for _ in 0..<count { learner.recordNotSent() }
    }

    /// `count` answers without quota headers arrived, the last at server time `at`, for sends granted under
    /// `generation` (nil: before any episode): the quota is not counted for a minute, or three of the learned
    /// pace's spacings when longer (or until headers appear), and the learner counts the successes.
    public mutating func recordHeaderless(_ count: Int = 1, at: Double, generation sentUnder: Int? = nil) {
        headerlessUntil = at + max(60, 3 / (learnedRate ?? 1))
        guard count > 0 else { return }
        throttles = 0
        let current = (sentUnder ?? 0) >= generation
        if current { probeUntil = nil }
        let instant = ServerInstant(epochSeconds: at)
        for _ in 0..<min(count, 10_000) { learner.recordSuccess(at: instant, mayOpen: current) }
    }

    /// A rate limit of the current episode (or one that begins one) reaches the learner: answers the pause, in
    /// seconds, it asks for (nil: the caller's backoff decides).
    mutating func learnerThrottle(until: Double?, now: Double) -> Double? {
        if learner.episodeThrottles == 0 { generation += 1 }
        // No worker knows how many are in flight across the campaign: one in flight, so the 429 is a rate's.
        let retryAfter = until.map { Duration.seconds(max($0 - now, 0)) }
        switch learner.recordThrottle(at: ServerInstant(epochSeconds: now), retryAfter: retryAfter, inFlight: 1) {
        case .inFlightLimit: return nil
        case .pause(let pause): return pause?.seconds
        }
    }
}
