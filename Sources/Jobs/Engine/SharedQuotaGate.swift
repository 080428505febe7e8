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
        var hand = SharedQuotaHand()
        /// A worker asks the ledger for sends now; the others wait for it.
        var isRefilling = false
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter: UInt64 = 0
    }

    private enum Step {
        case go(Int?)
        case goAt(Double, Int?)
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
    /// Told the rate the ledger learned (and its window) after every grant.
    private let learned: @Sendable (Double?, Duration?) -> Void

    /// - Parameters:
    ///   - limiter: The quota's name (API host and credential digest), as ``QuotaPersistence`` keys it.
    ///   - batch: Sends asked for at once (the worker's concurrency).
    ///   - learned: Told the rate the ledger learned without quota headers after every grant (for the status).
    init(
        ledger: any SharedQuotaLedger, limiter: String, batch: Int, configuration: RateLimiterConfiguration, serverClock: ServerClock,
        clock: EngineClock, jitter: @escaping @Sendable () -> Double, probeTimeout: Duration,
        learned: @escaping @Sendable (Double?, Duration?) -> Void = { _, _ in }
    ) {
        self.ledger = ledger
        self.limiter = limiter
        self.batch = max(1, batch)
        self.configuration = configuration
        self.serverClock = serverClock
        self.clock = clock
        self.jitter = jitter
        self.probeTimeout = probeTimeout.seconds
        self.learned = learned
    }

    private var margin: Double { configuration.resetMargin.seconds }

    /// Waits for a send the shared quota allows; answers the episode it was granted under (see
    /// ``SharedQuota/generation``), which its answer is told with.
    ///
    /// - Throws: ``RateLimiterError/quotaExhausted(resetIn:)`` when the wait would pass `max_wait` under
    ///   `on_exhausted: stop`; the store's errors; `CancellationError`.
    func acquire() async throws -> Int? {
        while true {
            try Task.checkCancellation()
            let now = serverClock.epochSeconds
            let step = state.withLock { state -> Step in
                switch state.hand.take(now: now) {
                case .go(let generation): return .go(generation)
                case .goAt(let at, let generation): return .goAt(at, generation)
                case .refill:
                    if state.isRefilling { return .wait }
                    state.isRefilling = true
                    return .refill
                }
            }
            switch step {
            case .go(let generation): return generation
            case .goAt(let at, let generation):
                // A slot is this request's alone once taken; it waits for the slot's instant.
                try await clock.sleep(for: .seconds(max(0, at - serverClock.epochSeconds)))
                return generation
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

    /// An answer with or without quota headers arrived, for a send granted under `generation`.
    ///
    /// - Throws: The store's error, when the answer had to be told at once.
    func record(_ observation: QuotaObservation, sentUnder generation: Int?) async throws {
        let report = Self.report(observation, serverClock: serverClock)
        if state.withLock({ $0.hand.record(report, sentUnder: generation) }) { try await push() }
    }

    /// A rate-limit answer arrived, for a send granted under `generation`: every worker pauses.
    ///
    /// - Throws: The store's error.
    func recordRateLimit(_ observation: QuotaObservation, sentUnder generation: Int?) async throws {
        let report = Self.report(observation, serverClock: serverClock)
        let now = serverClock.epochSeconds
        let until = observation.retryAfter.map { now + $0.seconds }
        let (margin, backoff, unitRandom) = (self.margin, configuration.backoff, jitter())
        // What was told before goes first: the successes the workers proved are what the learner measures.
        let pending = state.withLock { state in
            state.hand.dropGrants()
            return state.hand.takePending()
        }
        try await ledger.update(limiter) { quota in
            if let report {
                quota.record(report, tolerance: margin * 2)
            } else {
                quota.tell(pending, now: now, margin: margin)
            }
            quota.recordRateLimit(until: until, now: now, margin: margin, backoff: backoff, unitRandom: unitRandom, generation: generation)
        }
    }

    /// Gives the sends in hand back to the ledger (this worker has nothing left to send for now), so the other
    /// workers can still use them in this window.
    func giveBack() async throws {
        let unused = state.withLock { $0.hand.takeUnused() }
        let (tolerance, now) = (margin * 2, serverClock.epochSeconds)
        if unused.sends > 0, let reset = unused.reset {
            try await ledger.update(limiter) { $0.giveBack(unused.sends, reset: reset, tolerance: tolerance) }
        }
        if unused.slots > 0, let end = unused.slotsEnd {
            try await ledger.update(limiter) { $0.giveBackSlots(unused.slots, endingAt: end, now: now) }
        }
    }

    /// Sends what the answers told without asking for sends.
    private func push() async throws {
        let pending = state.withLock { $0.hand.takePending() }
        guard !pending.isEmpty else { return }
        let (margin, now) = (self.margin, serverClock.epochSeconds)
        try await ledger.update(limiter) { $0.tell(pending, now: now, margin: margin) }
    }

    /// Asks the ledger until it grants sends (or says no quota is published), sleeping between answers that say
    /// to wait.
    private func refill() async throws {
        while true {
            try Task.checkCancellation()
            let pending = state.withLock { $0.hand.takePending() }
            let now = serverClock.epochSeconds
            let (margin, want, probeTimeout, share) = (self.margin, batch, self.probeTimeout, configuration.share)
            let (grant, rate, window) = try await ledger.update(limiter) { quota in
                quota.tell(pending, now: now, margin: margin)
                let grant = quota.take(want: want, now: now, margin: margin, probeTimeout: probeTimeout, share: share)
                return (grant, quota.learnedRate, quota.learnedWindowSeconds)
            }
            learned(rate, window.map { .seconds($0) })
            guard let until = state.withLock({ $0.hand.apply(grant, now: now) }) else { return }
            let wait = max(0.001, until - serverClock.epochSeconds)
            if case .stop(let maxWait) = configuration.onExhausted, wait > maxWait.seconds {
                throw RateLimiterError.quotaExhausted(resetIn: .seconds(wait))
            }
            try await clock.sleep(for: .seconds(wait))
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
