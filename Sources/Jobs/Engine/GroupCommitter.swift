/// Commits finished work in groups: the first worker to finish becomes the committer and writes everything
/// queued in one transaction while others queue behind it. Each worker waits for its own commit before taking
/// its next row, so the rows at risk at any instant (in flight, or finished but not committed) never exceed the
/// concurrency, and a kill repeats at most that many.
actor GroupCommitter {
    private let store: any CheckpointStore
    private let quota: @Sendable () -> StoredQuota?
    private var queued: [(WorkCompletion, CheckedContinuation<Void, any Error>)] = []
    private var isCommitting = false

    /// - Parameter quota: The limiter's quota state, saved with every commit so a killed run's successor knows it.
    init(store: any CheckpointStore, quota: @escaping @Sendable () -> StoredQuota?) {
        self.store = store
        self.quota = quota
    }

    /// Completions waiting for the commit after the one in progress.
    var queuedCount: Int { queued.count }

    /// Returns once `completion` is committed.
    func commit(_ completion: WorkCompletion) async throws {
        try await withCheckedThrowingContinuation { continuation in
            queued.append((completion, continuation))
            if !isCommitting {
                isCommitting = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queued.isEmpty {
            let batch = queued
            queued.removeAll()
            do {
                try await store.complete(batch.map(\.0), quota: quota())
                for (_, continuation) in batch { continuation.resume() }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        isCommitting = false
    }
}
