import Synchronization

/// The rows whose requests have begun to leave and whose results are not yet committed: what a stop must wait
/// for, since cancelling them would lose an answer the service already counted. A row enters right before its first
/// request leaves (after any wait for the quota) and leaves once committed.
///
/// After ``close()`` (a stop) no row may enter: one that reaches its first send then gives up, unsent and still
/// pending. So a stop that finds no row in flight ends the run at once instead of waiting out the grace on rows
/// that only wait for the quota.
package final class RowsInFlight: Sendable {
    private struct State {
        var rows: Set<Int64> = []
        var isClosed = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Enters `id` (again, for its later requests); false when the run is stopping and `id` had not entered.
    package func enter(_ id: Int64) -> Bool {
        state.withLock { state in
            if state.rows.contains(id) { return true }
            guard !state.isClosed else { return false }
            state.rows.insert(id)
            return true
        }
    }

    /// `id` is committed (or gave up without sending).
    package func leave(_ id: Int64) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.rows.remove(id) != nil, state.rows.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// No row enters from now on.
    package func close() {
        state.withLock { $0.isClosed = true }
    }

    /// Returns once no row is in flight, or the task is cancelled.
    package func waitUntilEmpty() async {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rows.isEmpty || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// A row that reached its first send after a stop: it gives up, unsent and still pending.
struct NotSentAfterStop: Error {}
