/// A token bucket: `capacity` tokens, refilled at `ratePerSecond`. A pure value; the caller supplies the time.
struct TokenBucket<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    var ratePerSecond: Double
    var capacity: Double
    private var tokens: Double
    private var updatedAt: Instant?

    init(ratePerSecond: Double, capacity: Double) {
        self.ratePerSecond = ratePerSecond
        self.capacity = max(capacity, 1)
        self.tokens = self.capacity
    }

    /// How long until a token is available; nil when one is available now. Takes nothing.
    mutating func waitTime(at now: Instant) -> Duration? {
        refill(at: now)
        guard tokens < 1 else { return nil }
        return .seconds((1 - tokens) / ratePerSecond)
    }

    /// Takes one token; call only after ``waitTime(at:)`` answered nil.
    mutating func take(at now: Instant) {
        refill(at: now)
        tokens -= 1
    }

    /// Gives back a token taken for a request that was never sent.
    mutating func giveBack() {
        tokens = min(capacity, tokens + 1)
    }

    private mutating func refill(at now: Instant) {
        if let updatedAt {
            let elapsed = updatedAt.duration(to: now).seconds
            if elapsed > 0 { tokens = min(capacity, tokens + elapsed * ratePerSecond) }
        }
        updatedAt = now
    }
}

extension Duration {
    /// The duration in seconds, as a floating point number.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
