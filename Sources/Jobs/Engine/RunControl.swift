import Synchronization

/// Tells a running job to stop taking rows, and why. The first reason given wins.
///
/// The CLI requests a stop on SIGINT or SIGTERM; workers request one when the quota is spent beyond
/// `max_wait`, the service keeps failing, or the credentials are refused.
package final class RunControl: Sendable {
    private struct State {
        var reason: JobError?
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Why the run is stopping, or nil while it is not.
    package var stopReason: JobError? { state.withLock { $0.reason } }

    package var isStopping: Bool { stopReason != nil }

    /// Asks the run to stop taking rows; later calls keep the first reason.
    package func requestStop(_ reason: JobError) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.reason == nil else { return [] }
            state.reason = reason
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once a stop is requested, or the task is cancelled.
    package func waitForStop() async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.reason != nil || Task.isCancelled { return true }
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
