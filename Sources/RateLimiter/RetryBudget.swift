/// Decides when a service is failing too much to go on: over the last `window` requests, once at least
/// `minimumSamples` are known, a share of failures at or above `threshold` exhausts the budget.
///
/// A run whose budget is exhausted stops taking rows and exits resumable, rather than burning every row's
/// attempts against a service that is down.
public struct RetryBudget: Sendable, Equatable {
    public var window: Int
    public var minimumSamples: Int
    public var threshold: Double
    private var outcomes: [Bool] = []
    private var next = 0

    public init(window: Int = 20, minimumSamples: Int = 10, threshold: Double = 0.8) {
        self.window = max(window, 1)
        self.minimumSamples = max(1, min(minimumSamples, self.window))
        self.threshold = threshold
    }

    /// Records one request's outcome: `failed` for a transient failure (5xx, transport error, timeout).
    public mutating func record(failed: Bool) {
        if outcomes.count < window {
            outcomes.append(failed)
        } else {
            outcomes[next] = failed
            next = (next + 1) % window
        }
    }

    public var isExhausted: Bool {
        guard outcomes.count >= minimumSamples else { return false }
        let failures = outcomes.reduce(0) { $0 + ($1 ? 1 : 0) }
        return Double(failures) / Double(outcomes.count) >= threshold
    }
}
