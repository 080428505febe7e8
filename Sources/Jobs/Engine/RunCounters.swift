import Synchronization

/// What the intake saw (it runs on the store's queue; the runner reads the totals after).
final class IntakeTally: Sendable {
    private let state = Mutex((rows: 0, sha256: ""))

    func count(_ row: IntakeRow) { state.withLock { $0.rows += 1 } }

    func record(sha256: String) { state.withLock { $0.sha256 = sha256 } }

    var totals: (rows: Int, sha256: String) { state.withLock { $0 } }
}

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
