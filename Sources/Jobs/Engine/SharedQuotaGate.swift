import RateLimiter
import Synchronization

/// A worker's door to the quota it shares with the other workers of a shared store: before the local limiter,
/// every request takes a send the ledger granted (``SharedQuota``). Grants come in small batches, one
/// transaction each; answers' quota headers travel to the ledger with the next batch asked for, and a rate-limit
/// answer (which pauses every worker) at once.
///
/// Sends granted for a window that has ended are dropped, never spent in the next one.
///
/// No task of its own: the worker that finds no send in hand asks the ledger itself while the others wait for it
/// (a wait that ends on cancellation), and what answers tell the ledger is written by the worker that got them,
/// whose error ends the run like any store error.
package final class SharedQuotaGate: Sendable {
    private struct State {
        var sends = 0
        /// The reset of the window `sends` belong to (server epoch seconds), when known: they are dropped there, as a
        /// send made after it would land in the next window.
        var sendsReset: Double?
        /// Paced slots (no quota headers, after a rate limit): `slots` left, the next at `slotAt`, then every
        /// `slotSpacing` seconds, the last ending at `slotsEnd` (server epoch seconds).
        var slots = 0
        var slotAt = 0.0
        var slotSpacing = 0.0
        var slotsEnd: Double?
        /// The ledger's generation of the rate the slots were paced at.
        var slotsGeneration: Int?
        /// Until then (server time) no quota is published: requests go without asking.
        var unlimitedUntil: Double?
        var pendingReport: SharedQuota.Report?
        /// Answers without quota headers not yet told to the ledger.
        var pendingHeaderless = 0
        /// A worker asks the ledger for sends now; the others wait for it.
        var isRefilling = false
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter: UInt64 = 0

        /// Takes what was told and not yet sent to the ledger.
        mutating func takePending() -> (SharedQuota.Report?, Int) {
            defer { (pendingReport, pendingHeaderless) = (nil, 0) }
            return (pendingReport, pendingHeaderless)
        }

        mutating func dropGrants() {
            (sends, slots, slotsEnd, slotsGeneration, unlimitedUntil) = (0, 0, nil, nil, nil)
        }
    }

    private enum Step {
        case go
        case goAt(Double)
        case refill
        case wait
    }

    private let ledger: any SharedQuotaLedger
    private let limiter: String
    private let batch: Int
    private let configuration: RateLimiterConfiguration
    private let serverClock: ServerClock
    private let clock: EngineClock
    private let jitter: @Sendable () -> Double
    private let state = Mutex(State())
    /// How long another worker's probe is awaited before this one probes.
    private let probeTimeout: Double

    /// - Parameters:
    ///   - limiter: The quota's name (API host and credential digest), as ``QuotaPersistence`` keys it.
    ///   - batch: Sends asked for at once (the worker's concurrency).
    init(ledger: any SharedQuotaLedger, limiter: String, batch: Int, configuration: RateLimiterConfiguration, serverClock: ServerClock, clock: EngineClock, jitter: @escaping @Sendable () -> Double, probeTimeout: Duration) {
        self.ledger = ledger
        self.limiter = limiter
        self.batch = max(1, batch)
        self.configuration = configuration
        self.serverClock = serverClock
        self.clock = clock
        self.jitter = jitter
        self.probeTimeout = probeTimeout.seconds
    }

    private var margin: Double { configuration.resetMargin.seconds }

    /// Waits for a send the shared quota allows.
    ///
    /// - Throws: ``RateLimiterError/quotaExhausted(resetIn:)`` when the wait would pass `max_wait` under
    ///   `on_exhausted: stop`; the store's errors; `CancellationError`.
    func acquire() async throws {
        while true {
            try Task.checkCancellation()
            let now = serverClock.epochSeconds
            let step = state.withLock { state -> Step in
                if let until = state.unlimitedUntil, now < until { return .go }
                if let reset = state.sendsReset, now >= reset { state.sends = 0 }
                if state.sends > 0 {
                    state.sends -= 1
                    return .go
                }
                if state.slots > 0 {
                    // A slot is this request's alone once taken; it waits for the slot's instant.
                    let at = state.slotAt
                    state.slots -= 1
                    state.slotAt += state.slotSpacing
                    return at <= now ? .go : .goAt(at)
                }
                if state.isRefilling { return .wait }
                state.isRefilling = true
                return .refill
            }
            switch step {
            case .go: return
            case .goAt(let at):
                try await clock.sleep(for: .seconds(max(0, at - serverClock.epochSeconds)))
                return
            case .wait:
                // A run that stops cancels its workers: the wait for the shared quota (up to a window) ends too.
                try await waitForRefill()
            case .refill:
                do {
                    try await refill()
                    finishRefill(failure: nil)
                } catch {
                    // A cancelled refill is this worker's alone: the others look again, and one of them asks.
                    finishRefill(failure: error is CancellationError ? nil : error)
                    throw error
                }
            }
        }
    }

    private func finishRefill(failure: (any Error)?) {
        let waiters = state.withLock { state in
            state.isRefilling = false
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters {
            if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
        }
    }

    /// Waits until the refill in progress ends (then the caller looks again).
    private func waitForRefill() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    guard state.isRefilling, !Task.isCancelled else { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// An answer with or without quota headers arrived.
    ///
    /// - Throws: The store's error, when the answer had to be told at once.
    func record(_ observation: QuotaObservation) async throws {
        let report = Self.report(observation, serverClock: serverClock)
        let needsPush = state.withLock { state -> Bool in
            if let report {
                state.pendingReport = report
                state.pendingHeaderless = 0
            } else if state.pendingReport == nil {
                state.pendingHeaderless += 1
            }
            // A probe's answer is what the other workers wait for: it goes at once.
            return state.sendsReset == nil && state.unlimitedUntil == nil && state.slotsEnd == nil
        }
        if needsPush { try await push() }
    }

    /// A rate-limit answer arrived: every worker pauses.
    ///
    /// - Throws: The store's error.
    func recordRateLimit(_ observation: QuotaObservation) async throws {
        let report = Self.report(observation, serverClock: serverClock)
        let now = serverClock.epochSeconds
        let until = observation.retryAfter.map { now + $0.seconds }
        let (margin, backoff, unitRandom) = (self.margin, configuration.backoff, jitter())
        // The successes not yet told go first: the rate the workers proved is what the cut starts from.
        let (pending, headerless, generation) = state.withLock { state in
            let generation = state.slotsGeneration
            state.dropGrants()
            let (pending, headerless) = state.takePending()
            return (pending, headerless, generation)
        }
        try await ledger.update(limiter) { quota in
            quota.tell(report ?? pending, headerless: report == nil ? headerless : 0, now: now, margin: margin)
            quota.recordRateLimit(until: until, now: now, margin: margin, backoff: backoff, unitRandom: unitRandom, generation: generation)
        }
    }

    /// Gives the sends in hand back to the ledger (this worker has nothing left to send for now), so the other
    /// workers can still use them in this window.
    func giveBack() async throws {
        let (sends, reset, slots, slotsEnd) = state.withLock { state in
            defer { (state.sends, state.slots, state.slotsEnd) = (0, 0, nil) }
            return (state.sends, state.sendsReset, state.slots, state.slotsEnd)
        }
        let (tolerance, now) = (margin * 2, serverClock.epochSeconds)
        if sends > 0, let reset {
            try await ledger.update(limiter) { $0.giveBack(sends, reset: reset, tolerance: tolerance) }
        }
        if slots > 0, let slotsEnd {
            try await ledger.update(limiter) { $0.giveBackSlots(slots, endingAt: slotsEnd, now: now) }
        }
    }

    /// Sends what the answers told without asking for sends.
    private func push() async throws {
        let (report, headerless) = state.withLock { $0.takePending() }
        guard report != nil || headerless > 0 else { return }
        let (margin, now) = (self.margin, serverClock.epochSeconds)
        try await ledger.update(limiter) { $0.tell(report, headerless: headerless, now: now, margin: margin) }
    }

    /// Asks the ledger until it grants sends (or says no quota is published), sleeping between answers that say
    /// to wait.
    private func refill() async throws {
        while true {
            try Task.checkCancellation()
            let (report, headerless) = state.withLock { $0.takePending() }
            let now = serverClock.epochSeconds
            let (margin, want, probeTimeout, share) = (self.margin, batch, self.probeTimeout, configuration.share)
            let grant = try await ledger.update(limiter) { quota in
                quota.tell(report, headerless: headerless, now: now, margin: margin)
                return quota.take(want: want, now: now, margin: margin, probeTimeout: probeTimeout, share: share)
            }
            switch grant {
            case .sends(let count, let reset):
                state.withLock { state in
                    state.dropGrants()
                    state.sends = count
                    state.sendsReset = reset
                }
                return
            case .paced(let count, let from, let every, let generation):
                state.withLock { state in
                    state.dropGrants()
                    (state.slots, state.slotAt, state.slotSpacing) = (count, from, every)
                    (state.slotsEnd, state.slotsGeneration) = (from + Double(count) * every, generation)
                }
                return
            case .unlimited:
                // Ask again now and then, so a pause another worker records is seen.
                state.withLock { state in
                    state.dropGrants()
                    state.unlimitedUntil = now + 1
                }
                return
            case .wait(let until):
                let wait = max(0.001, until - serverClock.epochSeconds)
                if case .stop(let maxWait) = configuration.onExhausted, wait > maxWait.seconds {
                    throw RateLimiterError.quotaExhausted(resetIn: .seconds(wait))
                }
                try await clock.sleep(for: .seconds(wait))
            }
        }
    }

    private static func report(_ observation: QuotaObservation, serverClock: ServerClock) -> SharedQuota.Report? {
        guard let limit = observation.limit, let used = observation.used else { return nil }
        let at = observation.serverEpochSeconds ?? serverClock.epochSeconds
        return SharedQuota.Report(
            limit: limit, used: used, resetEpoch: observation.resetIn.map { at + $0.seconds },
            windowSeconds: observation.window?.seconds, at: at
        )
    }
}

extension SharedQuota {
    /// Applies what a worker's answers told: the last quota report, or `headerless` answers without one.
    fileprivate mutating func tell(_ report: Report?, headerless: Int, now: Double, margin: Double) {
        if let report {
            record(report, tolerance: margin * 2)
        } else if headerless > 0 {
            recordHeaderless(headerless, at: now)
        }
    }
}
