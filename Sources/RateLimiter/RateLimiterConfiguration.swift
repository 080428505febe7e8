/// How a ``RateLimiter`` spends a quota.
public struct RateLimiterConfiguration: Sendable, Equatable {
    /// What to do when the quota is spent.
    public enum ExhaustionPolicy: Sendable, Equatable {
        /// Wait for the reset, however far away.
        case wait
        /// Give up (``RateLimiterError/quotaExhausted(resetIn:)``) when the reset is further away than this.
        case stop(maxWait: Duration)
    }

    /// Default: wait.
    public var onExhausted: ExhaustionPolicy
    /// A local cap on requests per second below the server's quota; nil (the default) for none.
    public var maxPerSecond: Double?
    /// Spread the quota left evenly over the time to the reset while the backlog exceeds it. Default: off,
    /// so requests go as fast as concurrency allows while the window has quota.
    public var smooth: Bool
    /// Added to every reset instant: covers the one-second resolution of `Date` and `quota-reset-UTC`.
    public var resetMargin: Duration
    /// Pauses after a rate-limit answer that says neither when the quota resets nor `Retry-After`.
    public var backoff: Backoff
    /// The share of every advertised window (with quota headers) or of the learned rate (without) this limiter
    /// spends, above 0 and at most 1 (the default): the rest stays for other clients of the same credential.
    public var share = 1.0
    /// Without quota headers, once throttled, this limiter paces requests by its own ``AdaptiveRate``. Off when a
    /// rate shared by several processes paces them (``SharedQuota``); slow start and pauses still apply.
    public var pacesAdaptively = true

    public init(
        onExhausted: ExhaustionPolicy = .wait,
        maxPerSecond: Double? = nil,
        smooth: Bool = false,
        resetMargin: Duration = .seconds(1),
        backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(60))
    ) {
        self.onExhausted = onExhausted
        self.maxPerSecond = maxPerSecond
        self.smooth = smooth
        self.resetMargin = resetMargin
        self.backoff = backoff
    }
}

/// Why ``RateLimiter/acquire()`` gave up.
public enum RateLimiterError: Error, Sendable, Equatable {
    /// The quota is spent and resets further away than `max_wait` (nil: the reset is unknown).
    case quotaExhausted(resetIn: Duration?)
}
