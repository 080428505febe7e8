import Synchronization

/// Work items still to do, for the limiter's smoothing.
final class BacklogCounter: Sendable {
    private let remaining: Mutex<Int>

    init(_ count: Int) { remaining = Mutex(count) }

    /// Counts one item done; answers how many are left.
    func decrement() -> Int {
        remaining.withLock {
            $0 = max($0 - 1, 0)
            return $0
        }
    }
}
