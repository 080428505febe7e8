/// Capped exponential backoff with full jitter (the AWS architecture blog's "full jitter", as in
/// async-http-client's connection pool): the n-th wait is uniform in `0 ... min(cap, base * 2^(n-1))`.
public struct Backoff: Sendable, Equatable {
    /// The ceiling of the first wait.
    public var base: Duration
    /// No wait is ever longer than this.
    public var cap: Duration

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the wait after `failures` consecutive failures (1 for the first).
    public func ceiling(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let grown = base * (1 << exponent)
        return min(grown, cap)
    }

    /// The wait after `failures` consecutive failures.
    ///
    /// - Parameter unitRandom: A random number in `0 ..< 1`; injected so tests are deterministic.
    public func delay(afterFailures failures: Int, unitRandom: Double) -> Duration {
        ceiling(afterFailures: failures) * min(max(unitRandom, 0), 1)
    }
}
