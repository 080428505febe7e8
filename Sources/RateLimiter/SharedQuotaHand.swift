/// What one worker holds of a ``SharedQuota``: the sends or paced slots the ledger granted it, and what its answers
/// told that the ledger has not heard yet. A pure value; the worker's gate keeps it behind a lock and asks the
/// ledger when ``take(now:)`` says so. All instants are server epoch seconds.
public struct SharedQuotaHand: Sendable, Equatable {
    /// What a request that wants to leave does.
    public enum Step: Sendable, Equatable {
        /// Go now, under this grant (see ``SharedQuota/generation``; nil for grants of no episode).
        case go(generation: Int?)
        /// Go at this server instant: a paced slot, this request's alone.
        case goAt(Double, generation: Int?)
        /// Nothing in hand: ask the ledger (``apply(_:now:)`` its grant).
        case refill
    }

    /// What the answers told since the ledger last heard from this worker.
    public struct Pending: Sendable, Equatable {
        /// The last answer's quota report, when it had quota headers.
        public var report: SharedQuota.Report?
        /// Answers without quota headers, and the latest grant they were sent under.
        public var headerless = 0
        public var generation: Int?

        public var isEmpty: Bool { report == nil && headerless == 0 }
    }

    private var sends = 0
    /// The reset of the window `sends` belong to, when known: they are dropped there, as a send made after it
    /// would land in the next window.
    private var sendsReset: Double?
    /// Paced slots: `slots` left, the next at `slotAt`, then every `slotSpacing` seconds, the last ending at
    /// `slotsEnd`.
    private var slots = 0
    private var slotAt = 0.0
    private var slotSpacing = 0.0
    private var slotsEnd: Double?
    /// The episode the grant in hand (slots or a probe) belongs to.
    private var generation: Int?
    /// Until then no quota is published: requests go without asking.
    private var unlimitedUntil: Double?
    private var isProbe = false
    private(set) var pending = Pending()

    public init() {}

    /// Takes a send from the hand, or says to ask the ledger.
    public mutating func take(now: Double) -> Step {
        if let until = unlimitedUntil, now < until { return .go(generation: nil) }
        if let reset = sendsReset, now >= reset { sends = 0 }
        if sends > 0 {
            sends -= 1
            return .go(generation: generation)
        }
        if slots > 0 {
            let at = slotAt
            slots -= 1
            slotAt += slotSpacing
            return at <= now ? .go(generation: generation) : .goAt(at, generation: generation)
        }
        return .refill
    }

    /// Holds what the ledger granted; answers until when to wait before asking again, for a ``SharedQuota/Grant/wait(until:)``.
    public mutating func apply(_ grant: SharedQuota.Grant, now: Double) -> Double? {
        dropGrants()
        switch grant {
        case .sends(let count, let reset):
            (sends, sendsReset) = (count, reset)
        case .probe(let generation):
            (sends, self.generation, isProbe) = (1, generation, true)
        case .paced(let count, let from, let every, let generation):
            (slots, slotAt, slotSpacing) = (count, from, every)
            (slotsEnd, self.generation) = (from + Double(count) * every, generation)
        case .unlimited:
            // Ask again now and then, so a pause another worker records is seen.
            unlimitedUntil = now + 1
        case .wait(let until):
            return until
        }
        return nil
    }

    /// An answer arrived, with `report` when it had quota headers, for a send made under `generation`: answers
    /// whether to tell the ledger at once (the answer of a probe, which the other workers wait for).
    public mutating func record(_ report: SharedQuota.Report?, sentUnder generation: Int?) -> Bool {
        if let report {
            pending.report = report
            pending.headerless = 0
        } else if pending.report == nil {
            pending.headerless += 1
            pending.generation = max(pending.generation ?? generation ?? 0, generation ?? 0)
        }
        return isProbe || (sendsReset == nil && unlimitedUntil == nil && slotsEnd == nil)
    }

    /// Takes what was told and not yet sent to the ledger.
    public mutating func takePending() -> Pending {
        defer { pending = Pending() }
        return pending
    }

    /// Drops what is in hand (a rate limit pauses every worker; a new grant replaces the old).
    public mutating func dropGrants() {
        (sends, sendsReset, slots, slotsEnd, generation, unlimitedUntil, isProbe) = (0, nil, 0, nil, nil, nil, false)
    }

    /// Takes what is in hand to give back (this worker has nothing left to send for now): sends of the window
    /// ending at `reset`, and `slots` ending at `slotsEnd`.
    public mutating func takeUnused() -> (sends: Int, reset: Double?, slots: Int, slotsEnd: Double?) {
        defer { (sends, slots, slotsEnd) = (0, 0, nil) }
        return (sends, sendsReset, slots, slotsEnd)
    }
}

extension SharedQuota {
    /// Applies what a worker's answers told: the last quota report, or answers without one.
    public mutating func tell(_ pending: SharedQuotaHand.Pending, now: Double, margin: Double) {
        if let report = pending.report {
            record(report, tolerance: margin * 2)
        } else if pending.headerless > 0 {
            recordHeaderless(pending.headerless, at: now, generation: pending.generation)
        }
    }
}
