import Synchronization

/// Commits finished work in groups: while one commit runs, finished rows queue behind it and go into the next
/// one together. Each worker waits for its own commit before taking its next row, so the rows at risk at any
/// instant (in flight, or finished but not committed) never exceed the concurrency, and a kill repeats at most
/// that many. Queueing is a lock, not an actor hop: it happens once per row.
final class GroupCommitter: Sendable {
    private struct State {
        var queued: [(completion: WorkCompletion, continuation: CheckedContinuation<Void, any Error>)] = []
        var isCommitting = false
    }

    private let store: any CheckpointStore
    private let quota: @Sendable () -> StoredQuota?
    private let state = Mutex(State())

    /// - Parameter quota: The limiter's quota state, saved with every commit so a killed run's successor knows it.
    init(store: any CheckpointStore, quota: @escaping @Sendable () -> StoredQuota?) {
        self.store = store
        self.quota = quota
    }

    /// Completions waiting for the commit after the one in progress.
    var queuedCount: Int { state.withLock { $0.queued.count } }

    /// Returns once `completion` is committed.
    func commit(_ completion: WorkCompletion) async throws {
        try await withCheckedThrowingContinuation { continuation in
            let startsCommitting = state.withLock { state -> Bool in
                state.queued.append((completion, continuation))
                guard !state.isCommitting else { return false }
                state.isCommitting = true
                return true
            }
            if startsCommitting {
                Task { await self.drain() }
            }
        }
    }

    /// Commits what is queued, batch after batch, until nothing is.
    private func drain() async {
        while true {
            let batch = state.withLock { state in
                defer { state.queued.removeAll() }
                if state.queued.isEmpty { state.isCommitting = false }
                return state.queued
            }
            guard !batch.isEmpty else { return }
            do {
                try await store.complete(batch.map(\.completion), quota: quota())
                for entry in batch { entry.continuation.resume() }
            } catch {
                for entry in batch { entry.continuation.resume(throwing: error) }
            }
        }
    }
}
