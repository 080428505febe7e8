/// What the limiter tells a request that wants to leave.
enum LimiterDecision<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// Go: the request is counted in flight until its outcome is reported.
    case send
    /// Ask again at this instant.
    case sleep(until: Instant)
    /// Ask again when an answer arrives (requests in flight decide what is left). Never answered while nothing is
    /// in flight: no answer would come.
    case park
    /// The quota is spent and the reset is further away than `max_wait` allows (`on_exhausted: stop`).
    case exhausted(resetIn: Duration?)
}

/// The limiter's state machine: a pure value, driven by the instants the caller passes in.
///
/// It counts calls against the quota the server publishes (`quota-limit` minus `quota-used`, minus the requests in
/// flight, which the server's count lags behind), and reset instants measured from the server's own `Date`. Before
/// the first answer, and after every pause, it lets one request out and waits for its answer. A rate-limit answer
/// pauses every request until the reset, the `Retry-After`, or a jittered backoff. Without quota headers it falls
/// back to ``AdaptiveRate``.
struct LimiterState<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    let configuration: RateLimiterConfiguration
    private(set) var limit: Int?
    private(set) var used = 0
    private(set) var window: Duration?
    private(set) var resetAt: Instant?
    private(set) var inFlight = 0
    private(set) var pausedUntil: Instant?
    /// Without a reset header: the first answer seen in the window, so `firstSeen + window` bounds the reset.
    private var windowFirstSeenAt: Instant?
    private var isProbing = true
    /// When the current probe began (a pause ended, a window turned): the requests sent before it neither hold the
    /// probe back nor, answered late, end it. Nil for the first probe of the run.
    private var probingSince: Instant?
    private var consecutiveThrottles = 0
    private var localCap: TokenBucket<Instant>?
    private var adaptive = AdaptiveRate<Instant>()
    private var smoothingNextSend: Instant?
    /// Rows the run still has to do, those in flight included; smoothing applies only while the rows not yet sent
    /// exceed the quota left.
    var backlog: Int?
    /// The reset the last wait for a spent window was announced for, so each window's wait is announced once.
    private var announcedReset: Instant?
    /// A wait for a spent window's reset that began at the last decision and is not yet announced: how long.
    private var resetWaitToAnnounce: Duration?
    /// How many requests were in flight as each request in flight left (itself included).
    private var sendLevels = SendLevels<Instant>()
    /// The ticket of the last request let out (``decide(at:unitRandom:)``'s `.send`).
    private(set) var lastTicket: SendTicket?

    init(configuration: RateLimiterConfiguration) {
        self.configuration = configuration
        adaptive.share = min(max(configuration.share, 0.01), 1)
        if let perSecond = configuration.maxPerSecond, perSecond > 0 {
            localCap = TokenBucket(ratePerSecond: perSecond, capacity: perSecond)
        }
    }

    /// The calls this limiter may count in a window: `quota.share` of the advertised limit.
    var allowance: Int? { limit.map { configuration.share >= 1 ? $0 : Int((Double($0) * configuration.share).rounded(.down)) } }

    /// Calls left in the current window by the limiter's count, or nil while the quota is unknown.
    var remaining: Int? { allowance.map { $0 - used - inFlight } }

    /// Whether the window's allowance is spent by the server's own count (the requests in flight not counted).
    var isSpent: Bool { allowance.map { used >= $0 } ?? false }

    // MARK: Deciding

    mutating func decide(at now: Instant, unitRandom: Double) -> LimiterDecision<Instant> {
        decide(at: now, random: { unitRandom })
    }

    /// Decides; `random` is called only when a backoff needs jitter (drawing a random number costs a system call).
    mutating func decide(at now: Instant, random: () -> Double) -> LimiterDecision<Instant> {
        if let pausedUntil {
            if now < pausedUntil { return wait(until: pausedUntil, now: now) }
            self.pausedUntil = nil
            (isProbing, probingSince) = (true, now)
        }
        rollWindowIfDue(at: now)
        if let remaining, remaining <= 0 {
            if inFlight > 0 { return .park }
            if let reset = resetEstimate {
                let decision = wait(until: reset, now: now)
                if case .sleep = decision, announcedReset != reset {
                    announcedReset = reset
                    resetWaitToAnnounce = now.duration(to: reset)
                }
                return decision
            }
            // The reset is unknown: back off, then let one probe find out whether the window has turned.
            if !isProbing {
                consecutiveThrottles += 1
                let until = now.advanced(
                    by: configuration.backoff.delay(afterFailures: consecutiveThrottles, unitRandom: random())
                )
                pausedUntil = until
                return wait(until: until, now: now)
            }
        }
        // A parked request waits for an answer: with nothing in flight none would come, so it goes (as the probe).
        if inFlight > 0 {
            if isProbing, (probingSince.map { sendLevels.count(sentSince: $0) } ?? inFlight) > 0 { return .park }
            if limit == nil, !adaptive.allowsAnother(inFlight: inFlight) { return .park }
        }
        if let wait = localCap?.waitTime(at: now) { return .sleep(until: now.advanced(by: wait)) }
        if limit == nil, configuration.pacesAdaptively, let next = adaptive.sendTime(at: now) {
            return .sleep(until: next)
        }
        let smoothingSpacing = smoothingSpacing(at: now)
        if smoothingSpacing != nil, let next = smoothingNextSend, now < next { return .sleep(until: next) }

        inFlight += 1
        lastTicket = sendLevels.append(inFlight, sentAt: now)
        localCap?.take(at: now)
        adaptive.recordSend(at: now)
        if let smoothingSpacing { smoothingNextSend = now.advanced(by: smoothingSpacing) }
        return .send
    }

    /// The wait for a spent window's reset that began since the last call, once per window; nil otherwise.
    mutating func takeResetWaitToAnnounce() -> Duration? {
        defer { resetWaitToAnnounce = nil }
        return resetWaitToAnnounce
    }

    private func wait(until instant: Instant, now: Instant) -> LimiterDecision<Instant> {
        if case .stop(let maxWait) = configuration.onExhausted, now.duration(to: instant) > maxWait {
            return .exhausted(resetIn: resetAt.map { now.duration(to: $0) })
        }
        return .sleep(until: instant)
    }

    private var resetEstimate: Instant? {
        if let resetAt { return resetAt }
        if let windowFirstSeenAt, let window { return windowFirstSeenAt.advanced(by: window) }
        return nil
    }

    private mutating func rollWindowIfDue(at now: Instant) {
        guard limit != nil, let reset = resetEstimate, now >= reset else { return }
        used = 0
        resetAt = nil
        windowFirstSeenAt = nil
        smoothingNextSend = nil
        (isProbing, probingSince) = (true, now)
    }

    private func smoothingSpacing(at now: Instant) -> Duration? {
        // The backlog still holds the rows in flight, which `remaining` has already taken off the quota.
        guard configuration.smooth, let resetAt, let remaining, remaining > 0, let backlog,
            backlog - inFlight > remaining
        else { return nil }
        return now.duration(to: resetAt) / remaining
    }

    // MARK: Outcomes

    /// An answer arrived (any status but a rate limit).
    mutating func recordAnswer(_ observation: QuotaObservation, at now: Instant, ticket: SendTicket? = nil) {
        inFlight = max(inFlight - 1, 0)
        let sent = sendLevels.admitted(ticket)
        // A late answer of a request sent before the probe began says nothing of the gateway now.
        let answersAnEarlierRequest = if let probingSince, let sent { sent.sentAt < probingSince } else { false }
        if !answersAnEarlierRequest { isProbing = false }
        consecutiveThrottles = 0
        if observation.hasQuota {
            apply(observation, at: now)
        } else {
            // A request sent before an episode began ends nothing with its success.
            adaptive.recordSuccess(at: now, inFlight: sent?.level ?? inFlight + 1, mayOpen: sent.map { adaptive.isInEpisode(sentAt: $0.sentAt) } ?? true)
        }
    }

    /// A 429, or a `policies.ratelimit.*` fault, arrived: pause every request.
    mutating func recordRateLimit(_ observation: QuotaObservation, at now: Instant, unitRandom: Double, ticket: SendTicket? = nil) {
        inFlight = max(inFlight - 1, 0)
        let level = sendLevels.refused(ticket)?.level
        consecutiveThrottles += 1
        if observation.hasQuota { apply(observation, at: now) }
        var learnedPause: Duration?
        if let limit {
            // Spent until the reset, unless the server said when to try again.
            if observation.retryAfter == nil { used = max(used, limit) }
        } else {
            // `inFlight` still counts this request: the number in flight when the gateway refused it.
            switch adaptive.recordThrottle(at: now, retryAfter: observation.retryAfter, inFlight: level ?? inFlight + 1) {
            case .inFlightLimit:
                // A limit on requests in flight: sending goes on under the new cap, without a pause.
                consecutiveThrottles = max(consecutiveThrottles - 1, 0)
                return
            case .pause(let pause): learnedPause = pause
            }
        }
        let until: Instant
        if let retryAfter = observation.retryAfter {
            until = now.advanced(by: retryAfter)
        } else if let reset = resetEstimate {
            until = reset
        } else if let learnedPause, configuration.pacesAdaptively {
            until = now.advanced(by: learnedPause)
        } else {
            until = now.advanced(
                by: configuration.backoff.delay(afterFailures: consecutiveThrottles, unitRandom: unitRandom)
            )
        }
        pausedUntil = max(pausedUntil ?? until, until)
    }

    /// A request that was let out was never sent (its row was dropped before it left): it is charged nothing,
    /// neither the window's count nor the local cap's token nor a slot of the learned pace.
    mutating func recordNotSent(ticket: SendTicket? = nil) {
        inFlight = max(inFlight - 1, 0)
        sendLevels.forget(ticket, orNewest: true)
        localCap?.giveBack()
        adaptive.recordNotSent()
    }

    /// The request got no answer (transport error, timeout).
    mutating func recordNoAnswer(ticket: SendTicket? = nil) {
        inFlight = max(inFlight - 1, 0)
        sendLevels.forget(ticket, orNewest: false)
    }

    /// Without quota headers: the rate the adaptive mode learned (requests per second), and its learned window; the
    /// shared ledger's when it paces (``RateLimiterConfiguration/pacesAdaptively`` off).
    var learnedRate: (perSecond: Double, window: Duration?)? {
        guard configuration.pacesAdaptively else { return sharedLearnedRate }
        return adaptive.ratePerSecond.map { ($0, adaptive.learnedWindow) }
    }

    /// The rate a shared ledger learned for every worker, as its last grant told.
    var sharedLearnedRate: (perSecond: Double, window: Duration?)?

    /// Seeds the adaptive mode from the rate a previous run learned.
    mutating func restoreLearnedRate(perSecond: Double, window: Duration?) {
        adaptive.restore(ratePerSecond: perSecond, window: window)
    }

    /// Seeds the state from a previous run's last observation.
    mutating func restore(limit: Int, used: Int, resetIn: Duration?, window: Duration?, at now: Instant) {
        self.limit = limit
        self.used = used
        self.window = window
        self.resetAt = resetIn.map { now.advanced(by: $0 + configuration.resetMargin) }
    }

    private mutating func apply(_ observation: QuotaObservation, at now: Instant) {
        guard let observedLimit = observation.limit, let observedUsed = observation.used else { return }
        limit = observedLimit
        window = observation.window ?? window
        guard let resetIn = observation.resetIn else {
            if windowFirstSeenAt == nil || observedUsed < used {
                windowFirstSeenAt = now
                used = observedUsed
            } else {
                used = max(used, observedUsed)
            }
            return
        }
        let observedReset = now.advanced(by: resetIn + configuration.resetMargin)
        let tolerance = configuration.resetMargin * 2
        if let resetAt {
            if observedReset > resetAt.advanced(by: tolerance) {
                used = observedUsed  // a newer window than the one we were counting
                self.resetAt = observedReset
                smoothingNextSend = nil
            } else if observedReset >= resetAt.advanced(by: .zero - tolerance) {
                used = max(used, observedUsed)
                self.resetAt = max(resetAt, observedReset)
            }  // else: an answer from a window that has already ended
        } else {
            used = observedUsed
            self.resetAt = observedReset
        }
    }
}
