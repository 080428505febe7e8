import Synchronization

/// Paces requests to one API host and credential by the quota its answers publish.
///
/// One limiter is shared by every worker of a run. A worker calls ``acquire()`` before each request and reports
/// the outcome, with the ticket it was given, with exactly one of ``recordAnswer(_:for:)``,
/// ``recordRateLimit(_:for:)``, ``recordNoAnswer(for:)`` or ``recordNotSent(for:)``.
/// Generic over `Clock`, so tests drive it with a manual clock and never sleep.
///
/// ```swift
/// let limiter = RateLimiter(configuration: .init(), clock: ContinuousClock())
/// let ticket = try await limiter.acquire()
/// let answer = try await send(request)
/// limiter.recordAnswer(QuotaObservation(headers: answer.headers, localEpochSeconds: now), for: ticket)
/// ```
public final class RateLimiter<C: Clock>: Sendable where C.Duration == Duration {
    /// A decision, and the ticket of the request it let out.
    private typealias Decided = (decision: LimiterDecision<C.Instant>, ticket: SendTicket?)

    private struct Guarded: Sendable {
        var state: LimiterState<C.Instant>
        var parked: [UInt64: CheckedContinuation<Decided?, any Error>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let clock: C
    private let unitRandom: @Sendable () -> Double
    private let guarded: Mutex<Guarded>
    private let onWaitForReset: (@Sendable (Duration) -> Void)?

    /// - Parameters:
    ///   - configuration: How to spend the quota.
    ///   - clock: The clock to read and sleep on.
    ///   - unitRandom: Jitter source, a number in `0 ..< 1`.
    ///   - onWaitForReset: Told once per window, with the wait, when requests begin to wait for a spent window's
    ///     reset (so a person sees why nothing moves).
    public init(
        configuration: RateLimiterConfiguration,
        clock: C,
        unitRandom: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        onWaitForReset: (@Sendable (Duration) -> Void)? = nil
    ) {
        self.clock = clock
        self.unitRandom = unitRandom
        self.onWaitForReset = onWaitForReset
        self.guarded = Mutex(Guarded(state: LimiterState(configuration: configuration)))
    }

    /// Waits until a request may leave, and counts it in flight: the ticket to report its outcome with.
    ///
    /// - Throws: ``RateLimiterError/quotaExhausted(resetIn:)`` under `on_exhausted: stop`, `CancellationError`.
    // Specialized for the clock runs use: unspecialized generic code costs about a microsecond per acquire.
    @_specialize(exported: true, where C == ContinuousClock)
    @discardableResult
    public func acquire() async throws -> SendTicket {
        while true {
            try Task.checkCancellation()
            let now = clock.now
            var (decision, ticket) = guarded.withLock { ($0.state.decide(at: now, random: unitRandom), $0.state.lastTicket) }
            if case .park = decision {
                guard let decided = try await decideOrPark() else { continue }
                (decision, ticket) = decided
            }
            if case .sleep = decision, let onWaitForReset, let wait = guarded.withLock({ $0.state.takeResetWaitToAnnounce() }) {
                onWaitForReset(wait)
            }
            switch decision {
            case .send:
                guard let ticket else { preconditionFailure("a send always has a ticket") }
                return ticket
            case .sleep(let until):
                try await clock.sleep(until: until, tolerance: nil)
            case .exhausted(let resetIn):
                throw RateLimiterError.quotaExhausted(resetIn: resetIn)
            case .park:
                preconditionFailure("decideOrPark never answers .park")
            }
        }
    }

    /// An answer other than a rate limit arrived for an acquired request (without a ticket: the oldest in flight).
    @_specialize(exported: true, where C == ContinuousClock)
    public func recordAnswer(_ observation: QuotaObservation, for ticket: SendTicket? = nil) {
        let now = clock.now
        update { $0.recordAnswer(observation, at: now, ticket: ticket) }
    }

    /// A rate-limit answer arrived for an acquired request (without a ticket: the newest in flight): every request
    /// pauses.
    @_specialize(exported: true, where C == ContinuousClock)
    public func recordRateLimit(_ observation: QuotaObservation, for ticket: SendTicket? = nil) {
        let now = clock.now
        let random = unitRandom()
        update { $0.recordRateLimit(observation, at: now, unitRandom: random, ticket: ticket) }
    }

    /// An acquired request got no answer.
    @_specialize(exported: true, where C == ContinuousClock)
    public func recordNoAnswer(for ticket: SendTicket? = nil) {
        update { $0.recordNoAnswer(ticket: ticket) }
    }

    /// An acquired request was never sent (its row was dropped first): its token is given back. Tokens are charged
    /// for requests that leave, never for work fetched and dropped.
    public func recordNotSent(for ticket: SendTicket? = nil) {
        update { $0.recordNotSent(ticket: ticket) }
    }

    /// Seeds the quota from a previous run, so a resumed run does not overspend a nearly used window.
    public func restore(limit: Int, used: Int, resetIn: Duration?, window: Duration?) {
        let now = clock.now
        update { $0.restore(limit: limit, used: used, resetIn: resetIn, window: window, at: now) }
    }

    /// Seeds the pacing of a gateway without quota headers from the rate a previous run learned from its 429s.
    public func restoreLearnedRate(perSecond: Double, window: Duration?) {
        update { $0.restoreLearnedRate(perSecond: perSecond, window: window) }
    }

    /// The rate a shared ledger learned for every worker (``SharedQuota``), which paces this limiter's requests when
    /// it does not pace them itself: what its snapshot reports as learned.
    public func setSharedLearnedRate(perSecond: Double?, window: Duration?) {
        guarded.withLock { $0.state.sharedLearnedRate = perSecond.map { ($0, window) } }
    }

    /// Tells the limiter how many rows the run still has to do (for `smooth`).
    public func setBacklog(_ rows: Int) {
        guarded.withLock { $0.state.backlog = rows }
    }

    /// The quota as the limiter sees it now.
    public var snapshot: QuotaSnapshot {
        let now = clock.now
        return guarded.withLock { guarded in
            let state = guarded.state
            return QuotaSnapshot(
                limit: state.limit,
                used: state.used + state.inFlight,
                window: state.window,
                resetIn: state.resetAt.map { max(.zero, now.duration(to: $0)) },
                pausedFor: state.pausedUntil.map { max(.zero, now.duration(to: $0)) },
                inFlight: state.inFlight,
                learnedRate: state.learnedRate?.perSecond,
                learnedWindow: state.learnedRate?.window
            )
        }
    }

    /// How many acquirers are parked until an answer arrives (lets tests wait for them without sleeping).
    var parkedCount: Int { guarded.withLock { $0.parked.count } }

    // MARK: Waiting

    /// Decides again under the lock and, when the request must wait for an answer, parks it under the same lock,
    /// so no answer can slip between the decision and the parking. Answers nil after a wake-up: decide again.
    private func decideOrPark() async throws -> Decided? {
        let id = guarded.withLock { guarded in
            guarded.nextWaiterID &+= 1
            return guarded.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<Decided?, any Error>) in
                let now = clock.now
                let immediate: Result<Decided?, any Error>? = guarded.withLock { guarded in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    let decision = guarded.state.decide(at: now, random: unitRandom)
                    if case .park = decision {
                        guarded.parked[id] = continuation
                        return nil
                    }
                    return .success((decision, guarded.state.lastTicket))
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let continuation = guarded.withLock { $0.parked.removeValue(forKey: id) }
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func update(_ body: (inout LimiterState<C.Instant>) -> Void) {
        let woken = guarded.withLock { guarded -> [CheckedContinuation<Decided?, any Error>] in
            body(&guarded.state)
            guard !guarded.parked.isEmpty else { return [] }
            defer { guarded.parked.removeAll() }
            return Array(guarded.parked.values)
        }
        for continuation in woken { continuation.resume(returning: nil) }
    }
}

/// The quota as a limiter sees it at one instant (for checkpoints, progress and metrics).
public struct QuotaSnapshot: Sendable, Equatable {
    /// Calls allowed per window, when known.
    public var limit: Int?
    /// Calls counted in the window, including the requests in flight.
    public var used: Int
    /// The window's length, when published.
    public var window: Duration?
    /// Time to the reset (with the margin), when known.
    public var resetIn: Duration?
    /// Time left in a pause after a rate-limit answer.
    public var pausedFor: Duration?
    /// Requests in flight.
    public var inFlight: Int
    /// Without quota headers: the send rate learned from the gateway's 429s (requests per second), when learned.
    public var learnedRate: Double? = nil
    /// Without quota headers: the window learned from the spacing of throttle episodes.
    public var learnedWindow: Duration? = nil
}
