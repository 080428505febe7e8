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
/// Without quota headers nothing is counted: the workers share one learner instead, the ``AdaptiveRate`` one process
/// uses, kept in the ledger and run on the server's clock (see `SharedQuota+Learner.swift`).
public struct SharedQuota: Sendable, Equatable, Codable {
    /// What a worker may do.
    public enum Grant: Sendable, Equatable {
        /// Send this many requests (in the window ending at `reset`, when known).
        case sends(Int, reset: Double?)
        /// Ask again at this server instant.
        case wait(until: Double)
        /// No quota is published and no rate limit was met: send as the local limiter allows.
        case unlimited
        /// No quota is published and a throttle episode is on: send one request, which finds out whether it has
        /// ended (the others wait for its answer); it and its answer belong to the `generation`-th episode.
        case probe(generation: Int)
        /// No quota is published: send this many requests, the first at server instant `from`, one every `every`
        /// seconds (slots no other worker was given), at the rate learned by the `generation`-th episode.
        case paced(Int, from: Double, every: Double, generation: Int)
    }

    /// How the shared learner hands out its pace.
    public struct Adaptation: Sendable, Equatable, Codable {
        /// A paced grant covers at most this many seconds of slots: the slots a worker holds are still sent after
        /// another worker met a throttle, and a worker that runs out of rows holds few.
        public var grantSpan = 0.25

        public init() {}
    }

    /// What one answer said about the quota.
    public struct Report: Sendable, Equatable, Codable {
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
    /// Without quota headers: the learner of every worker's answers together.
    @SavedLearner var learner = AdaptiveRate<ServerInstant>()
    /// Episodes of rate limits met since the last answer that was not one: the backoff grows with them.
    public var throttles = 0
    /// Throttle episodes begun without quota headers. A send granted before the current one began (a worker still
    /// held its slots) neither opens nor prolongs it.
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
            // A throttle episode lapses only with an answer: its probes find out whether the gateway opened.
            if now < headerlessUntil || learner.episodeThrottles > 0 {
                return pace(want: want, now: now, share: share, probeTimeout: probeTimeout)
            }
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

    /// A rate-limit answer arrived: every worker pauses until `until`, or the reset when it is not given; without
    /// quota headers, for the pause the learner sets, or else `backoff`'s wait after the episodes of rate limits
    /// met in a row.
    ///
    /// - Parameters:
    ///   - generation: The ``generation`` of the grant the request was sent under, if it was paced or a probe.
    ///   - unitRandom: The backoff's jitter, in `0 ..< 1`.
    public mutating func recordRateLimit(
        until: Double?, now: Double, margin: Double, backoff: Backoff, unitRandom: Double, generation sentUnder: Int? = nil
    ) {
        // Spent until the reset; while the window's reset is unknown (a probe), its quota is not written off.
        if let limit, until == nil, resetEpoch != nil { granted = max(granted, limit) }
        var learnedPause: Double?
        if limit == nil || headerlessUntil.map({ now < $0 }) == true {
            // A send granted before the current episode began tells nothing new: the episode is already on (or
            // over). Its `Retry-After` still holds.
            guard (sentUnder ?? 0) >= generation else {
                if let until { pausedUntil = max(pausedUntil ?? until, until) }
                return
            }
            learnedPause = learnerThrottle(until: until, now: now)
        }
        // One episode per pause: the answers of requests already in flight when the first came in add none.
        if pausedUntil.map({ now >= $0 }) ?? true { throttles += 1 }
        let fallback = backoff.delay(afterFailures: throttles, unitRandom: unitRandom).seconds
        let end = until ?? resetEpoch.map { $0 + margin } ?? learnedPause.map { now + $0 } ?? now + fallback
        pausedUntil = max(pausedUntil ?? end, end)
        probeUntil = nil
    }
}
