import Synchronization

/// The calls open at once, for a gateway that limits them (`--concurrency-limit`).
final class OpenCalls: Sendable {
    private let count = Mutex(0)

    /// Counts a call as open and answers true, or answers false when `limit` are open already (nil: no limit).
    func open(limit: Int?) -> Bool {
        guard let limit else { return true }
        return count.withLock { open in
            guard open < limit else { return false }
            open += 1
            return true
        }
    }

    /// A call that ``open(limit:)`` counted was answered.
    func close(limit: Int?) {
        guard limit != nil else { return }
        count.withLock { $0 -= 1 }
    }
}
