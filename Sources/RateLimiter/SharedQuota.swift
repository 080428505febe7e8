/// The quota that several processes spend together, as one row of a shared database holds it: a pure value,
/// changed only by ``take(want:now:margin:probeTimeout:)`` and the reports of the workers' answers, each under
/// the row's lock. All instants are the server's epoch seconds (each worker judges them by the `Date` headers it
/// saw), so workers on hosts with different clocks agree.
///
/// Sends are granted against `limit` per window and counted in ``granted``, which the servers' own `used`
/// counts can only raise. A window whose reset has passed (with the margin) starts over with one probe: its first
/// answer tells the new reset, and only then are more sends granted, so the workers together never send more
/// in a window than its limit. Without quota headers nothing is counted (``Grant/unlimited``), but rate-limit
/// pauses are still shared.
public struct SharedQuota: Sendable, Equatable {
    /// What a worker may do.
    public enum Grant: Sendable, Equatable {
        /// Send this many requests (in the window ending at `reset`, when known).
        case sends(Int, reset: Double?)
        /// Ask again at this server instant.
        case wait(until: Double)
        /// No quota is published: send as the local limiter allows.
        case unlimited
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

    public init() {}

    /// Grants up to `want` sends at server time `now`.
    ///
    /// - Parameters:
    ///   - margin: Seconds after a reset before the window is taken as turned (clock differences, latency).
    ///   - probeTimeout: How long a probe's answer is awaited before another worker may probe.
    public mutating func take(want: Int, now: Double, margin: Double, probeTimeout: Double) -> Grant {
        if let pausedUntil {
            if now < pausedUntil { return .wait(until: pausedUntil) }
            self.pausedUntil = nil
        }
        if let headerlessUntil {
            if now < headerlessUntil { return .unlimited }
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
        let remaining = limit - granted
        guard remaining > 0 else { return .wait(until: resetEpoch + margin) }
        let sends = min(max(want, 1), remaining)
        granted += sends
        return .sends(sends, reset: resetEpoch)
    }

    /// An answer with quota headers arrived.
    ///
    /// - Parameter tolerance: How far two reports' resets may differ and still name the same window.
    public mutating func record(_ report: Report, tolerance: Double) {
        headerlessUntil = nil
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

    /// An answer without quota headers arrived at server time `at`: the quota is not counted for a minute
    /// (or until headers appear).
    public mutating func recordHeaderless(at: Double) {
        headerlessUntil = at + 60
        probeUntil = nil
    }

    /// A rate-limit answer arrived: every worker pauses until `until`, or the reset when it is not given.
    public mutating func recordRateLimit(until: Double?, now: Double, margin: Double, fallback: Double) {
        // Spent until the reset; while the window's reset is unknown (a probe), its quota is not written off.
        if let limit, until == nil, resetEpoch != nil { granted = max(granted, limit) }
        let end = until ?? resetEpoch.map { $0 + margin } ?? now + fallback
        pausedUntil = max(pausedUntil ?? end, end)
        probeUntil = nil
    }
}
