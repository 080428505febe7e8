/// The quota that several processes spend together, as one row of a shared database holds it: a pure value,
/// changed only by ``take(want:now:margin:probeTimeout:)`` and the reports of the workers' answers, each under
/// the row's lock. All instants are the server's epoch seconds (each worker judges them by the `Date` headers it
/// saw), so workers on hosts with different clocks agree.
///
/// Sends are granted against `limit` per window and counted in ``granted``, which the servers' own `used`
/// counts can only raise. A window whose reset has passed (with the margin) starts over with one probe: its first
/// answer tells the new reset, and only then are more sends granted, so the workers together never send more
/// in a window than its limit.
///
/// Without quota headers nothing is counted, and the adaptive mode is shared instead: until the first rate-limit
/// answer every worker sends as its own slow start allows (``Grant/unlimited``); from then on one rate, for all
/// workers together, paces them (``Grant/paced(_:from:every:generation:)``). It starts at four fifths of the rate
/// the workers' successes proved before the first rate limit, is cut by a fifth once per throttle episode, and is
/// raised by every success, as ``AdaptiveRate`` does for one process. Rate-limit pauses are shared in both modes.
public struct SharedQuota: Sendable, Equatable {
    /// What a worker may do.
    public enum Grant: Sendable, Equatable {
        /// Send this many requests (in the window ending at `reset`, when known).
        case sends(Int, reset: Double?)
        /// Ask again at this server instant.
        case wait(until: Double)
        /// No quota is published and no rate limit was met: send as the local limiter allows.
        case unlimited
        /// No quota is published: send this many requests, the first at server instant `from`, one every `every`
        /// seconds (slots no other worker was given), at the rate set by the `generation`-th cut.
        case paced(Int, from: Double, every: Double, generation: Int)
    }

    /// The shared adaptive mode's settings (see ``AdaptiveRate``).
    public struct Adaptation: Sendable, Equatable {
        /// A throttle cuts the rate to this share of the rate proved safe.
        public var decrease = 0.8
        /// Climbing back to the throttled rate takes about this many successes.
        public var successesPerThrottle = 60.0
        /// No rate falls below this many requests per second.
        public var floor = 0.05
        /// Successes are counted over about this many seconds.
        public var horizon = 60.0
        /// A paced grant covers at most this many seconds of slots, so a worker that runs out of rows holds few.
        public var grantSpan = 1.0

        public init() {}
    }

    /// What one answer said about the quota.
    public struct Report: Sendable, Equatable {
        public var limit: Int
        public var used: Int
        /// The window's reset in server epoch seconds, when published.
        public var resetEpoch: Double?
        public var windowSeconds: Double?
        /// When the answer was made, in server epoch seconds.
        public var at: Double

        public init(limit: Int, used: Int, resetEpoch: Double?, windowSeconds: Double?, at: Double) {
            self.limit = limit
            self.used = used
            self.resetEpoch = resetEpoch
            self.windowSeconds = windowSeconds
            self.at = at
        }
    }

    public var limit: Int?
    public var windowSeconds: Double?
    /// The current window's reset; nil while unknown (no answer yet, or a new window not yet answered).
    public var resetEpoch: Double?
    /// Sends granted in the current window, at least what the server counted.
    public var granted = 0
    /// Every worker waits until then (a rate-limit answer).
    public var pausedUntil: Double?
    /// The reset of the last window that ended: a late report from it must not bring it back.
    public var endedReset: Double?
    /// A probe is out until then: the others wait for its answer.
    public var probeUntil: Double?
    /// Until then no quota is counted: the last answers carried no quota headers. It lapses on its own, so a
    /// campaign started later (against a gateway that now publishes a quota) begins with a probe.
    public var headerlessUntil: Double?
    /// Without quota headers, once a rate limit was met: requests per second for all workers together.
    public var adaptiveRate: Double?
    /// While ``adaptiveRate`` paces: the next slot no worker holds (server epoch seconds).
    public var nextSlot: Double?
    /// Successes reported since ``successesSince``: the rate the workers together proved safe.
    public var successes = 0
    public var successesSince: Double?
    /// When the last successes were reported: the measure runs to then, not to now (reports lag).
    public var successesUntil: Double?
    /// Episodes of rate limits met since the last answer that was not one: the backoff grows with them.
    public var throttles = 0
    /// How often ``adaptiveRate`` was cut. A rate limit met by a send paced at an older rate (a worker still
    /// held its slots when the rate was cut) belongs to the episode that cut it and cuts no more.
    public var generation = 0
    public var adaptation = Adaptation()

    public init() {}

    /// Grants up to `want` sends at server time `now`.
    ///
    /// - Parameters:
    ///   - margin: Seconds after a reset before the window is taken as turned (clock differences, latency).
    ///   - probeTimeout: How long a probe's answer is awaited before another worker may probe.
    ///   - share: The share of every window (with quota headers) or of the shared rate (without) the workers
    ///     together spend (`quota.share`).
    public mutating func take(want: Int, now: Double, margin: Double, probeTimeout: Double, share: Double = 1) -> Grant {
        if let pausedUntil {
            if now < pausedUntil { return .wait(until: pausedUntil) }
            self.pausedUntil = nil
        }
        if let headerlessUntil {
            if now < headerlessUntil { return pace(want: want, now: now, share: share) }
            self.headerlessUntil = nil
        }
        if let reset = resetEpoch, now >= reset {
            // Past the reset nothing more is granted from the ended window (a send made now would land in the
            // next one); after the margin the next window starts with a probe.
            if now < reset + margin { return .wait(until: reset + margin) }
            endedReset = reset
            resetEpoch = nil
            granted = 0
            probeUntil = nil
        }
        guard let limit, let resetEpoch else {
            if let probeUntil, now < probeUntil { return .wait(until: min(probeUntil, now + 0.05)) }
            probeUntil = now + probeTimeout
            granted += 1
            return .sends(1, reset: nil)
        }
        let remaining = (share >= 1 ? limit : Int((Double(limit) * share).rounded(.down))) - granted
        // Spent: ask again at the reset, or sooner, as a worker that runs out of rows gives back what it holds.
        guard remaining > 0 else { return .wait(until: min(resetEpoch + margin, now + recheckInterval)) }
        let sends = min(max(want, 1), remaining)
        granted += sends
        return .sends(sends, reset: resetEpoch)
    }

    /// How often a worker asks a spent window again: a fiftieth of the window (at least 0.1 s), a minute when
    /// the window's length is unknown.
    private var recheckInterval: Double { max(0.1, (windowSeconds ?? 3_000) / 50) }

    private mutating func pace(want: Int, now: Double, share: Double) -> Grant {
        if adaptiveRate == nil, generation > 0 {
            // The first rate limit's pause has passed: by now every worker has told the successes it had before
            // it (they travel with each worker's next request for sends), so the rate they proved is known.
            adaptiveRate = max((provenRate() ?? 1) * adaptation.decrease, adaptation.floor)
        }
        guard let rate = adaptiveRate.map({ $0 * min(max(share, 0.01), 1) }) else { return .unlimited }
        let every = 1 / rate
        let from = max(now, nextSlot ?? now)
        let count = min(max(want, 1), max(1, Int(rate * adaptation.grantSpan)))
        nextSlot = from + Double(count) * every
        return .paced(count, from: from, every: every, generation: generation)
    }

    /// A worker gives back paced slots it will not use (it has no rows left): when they are the last ones
    /// granted, later grants start earlier.
    public mutating func giveBackSlots(_ count: Int, endingAt end: Double, now: Double) {
        guard count > 0, let rate = adaptiveRate, let nextSlot, abs(nextSlot - end) < 1e-6 else { return }
        self.nextSlot = max(now, end - Double(count) / rate)
    }

    /// An answer with quota headers arrived.
    ///
    /// - Parameter tolerance: How far two reports' resets may differ and still name the same window.
    public mutating func record(_ report: Report, tolerance: Double) {
        headerlessUntil = nil
        throttles = 0
        guard let observedReset = report.resetEpoch else {
            probeUntil = nil
            // Only a window length: the window counts from the first answer seen in it, and keeps that reset.
            limit = report.limit
            windowSeconds = report.windowSeconds ?? windowSeconds
            if resetEpoch == nil, let windowSeconds {
                resetEpoch = report.at + windowSeconds
            }
            granted = max(granted, report.used)
            return
        }
        if let endedReset, observedReset <= endedReset + tolerance { return }  // an answer from a window that has ended
        probeUntil = nil
        limit = report.limit
        windowSeconds = report.windowSeconds ?? windowSeconds
        if let reset = resetEpoch {
            if observedReset > reset + tolerance {
                // A newer window than the one counted: sends granted since its reset are in the server's count.
                resetEpoch = observedReset
                granted = report.used
            } else if observedReset >= reset - tolerance {
                granted = max(granted, report.used)
                resetEpoch = max(reset, observedReset)
            }  // else: an answer from a window that has ended
        } else if observedReset > report.at {
            resetEpoch = observedReset
            granted = max(granted, report.used)
        }
    }

    /// A worker gives back `sends` it was granted for the window ending at `reset` (within `tolerance`: later
    /// answers may have moved it a little) and will not make (it has no rows left), so the other workers can use
    /// them in that window.
    public mutating func giveBack(_ sends: Int, reset: Double, tolerance: Double) {
        guard sends > 0, let resetEpoch, abs(resetEpoch - reset) <= tolerance else { return }
        granted = max(0, granted - sends)
    }

    /// `count` answers without quota headers arrived, the last at server time `at`: the quota is not counted for
    /// a minute (or until headers appear), and each success raises the shared adaptive rate.
    public mutating func recordHeaderless(_ count: Int = 1, at: Double) {
        headerlessUntil = at + 60
        probeUntil = nil
        guard count > 0 else { return }
        throttles = 0
        countSuccesses(count, at: at)
        if let rate = adaptiveRate {
            let step = 1 + (1 - adaptation.decrease) / adaptation.successesPerThrottle
            var raised = rate
            for _ in 0..<min(count, 10_000) { raised *= step }
            adaptiveRate = raised
        }
    }

    private mutating func countSuccesses(_ count: Int, at: Double) {
        guard let since = successesSince, at >= since else {
            (successesSince, successesUntil, successes) = (at, at, count)
            return
        }
        if at - since > adaptation.horizon {
            // Keep the last ten seconds' worth at the rate measured, so the measure carries on without a gap.
            let rate = Double(successes) / (at - since)
            (successesSince, successes) = (at - 10, Int((rate * 10).rounded()))
        }
        successes += count
        successesUntil = max(successesUntil ?? at, at)
    }

    /// Successes per second the workers together proved (over at least a second).
    func provenRate() -> Double? {
        guard let since = successesSince, let until = successesUntil, successes > 0 else { return nil }
        return Double(successes) / max(until - since, 1)
    }

    /// A rate-limit answer arrived: every worker pauses until `until`, or the reset when it is not given, or
    /// else for `backoff`'s wait after the episodes of rate limits met in a row.
    ///
    /// - Parameters:
    ///   - generation: The ``generation`` of the paced grant the request was sent under, if it was.
    ///   - unitRandom: The backoff's jitter, in `0 ..< 1`.
    public mutating func recordRateLimit(
        until: Double?, now: Double, margin: Double, backoff: Backoff, unitRandom: Double, generation sentUnder: Int? = nil
    ) {
        // Spent until the reset; while the window's reset is unknown (a probe), its quota is not written off.
        if let limit, until == nil, resetEpoch != nil { granted = max(granted, limit) }
        // One episode per pause: the answers of requests already in flight when the first came in add none, nor
        // do those of sends paced at a rate cut since.
        let isNewEpisode = (pausedUntil.map { now >= $0 } ?? true) && (sentUnder.map { $0 >= generation } ?? true)
        if isNewEpisode { throttles += 1 }
        if limit == nil || headerlessUntil.map({ now < $0 }) == true {
            if isNewEpisode {
                // The first one ends slow start; the rate is set when its pause has passed (see `pace`). Later
                // ones cut the rate that was paced.
                if let rate = adaptiveRate { adaptiveRate = max(rate * adaptation.decrease, adaptation.floor) }
                generation += 1
            }
            // `nextSlot` stays: other workers still send the slots they hold, so new ones start after those.
        }
        let fallback = backoff.delay(afterFailures: throttles, unitRandom: unitRandom).seconds
        let end = until ?? resetEpoch.map { $0 + margin } ?? now + fallback
        pausedUntil = max(pausedUntil ?? end, end)
        probeUntil = nil
    }
}
