import TestSupport

@testable import RateLimiter

// Shared helpers for the limiter tests: instants on a `ManualClock`, comparable decisions, waiting for waiters.

typealias Instant = ManualClock.Instant

/// The manual clock's instant `seconds` after its start.
func at(_ seconds: Double) -> Instant {
    Instant(offset: .seconds(seconds))
}

/// The seconds since the manual clock's start of `instant` (`at`'s inverse).
func seconds(_ instant: Instant) -> Double {
    let offset = Instant(offset: .zero).duration(to: instant)
    return Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18
}

/// The quota headers of a KPN-style answer, already parsed.
func quota(
    limit: Int,
    used: Int,
    resetIn: Duration? = nil,
    window: Duration? = nil,
    retryAfter: Duration? = nil
) -> QuotaObservation {
    QuotaObservation(limit: limit, used: used, window: window, resetIn: resetIn, retryAfter: retryAfter)
}

extension LimiterDecision: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.send, .send), (.park, .park): true
        case (.sleep(let left), .sleep(let right)): left == right
        case (.exhausted(let left), .exhausted(let right)): left == right
        default: false
        }
    }
}

extension LimiterState {
    /// Decides with a fixed jitter of one half.
    mutating func decide(at now: Instant) -> LimiterDecision<Instant> {
        decide(at: now, unitRandom: 0.5)
    }
}

extension RateLimiter {
    /// Waits until at least `count` acquirers are parked waiting for an answer (yields, never sleeps).
    func waitForParked(_ count: Int) async {
        while parkedCount < count, !Task.isCancelled { await Task.yield() }
    }
}

/// Awaits every task; cancels them if the test is cancelled (its time limit ran out), so a hang ends the test.
func finish<Success: Sendable>(_ tasks: [Task<Success, any Error>]) async throws {
    try await withTaskCancellationHandler {
        for task in tasks { _ = try await task.value }
    } onCancel: {
        for task in tasks { task.cancel() }
    }
}
