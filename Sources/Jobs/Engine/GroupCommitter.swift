import Synchronization

/// Commits finished work in groups: while one commit runs, finished rows queue behind it and go into the next
/// one together. Each worker waits for its own commit before taking its next row, so the rows at risk at any
/// instant (in flight, or finished but not committed) never exceed the concurrency, and a kill repeats at most
/// that many. Queueing is a lock, not an actor hop: it happens once per row.
///
/// No task of its own: the worker that finds no commit running commits the queue itself (with its own row), then
/// hands the next batch to the first worker that queued behind it. A worker cancelled while queued leaves the
/// queue at once (its row stays pending); a commit in progress is not cancelled, it is bounded by the store
/// (`state_timeout`).
final class GroupCommitter: Sendable {
    private typealias Waiter = CheckedContinuation<Turn, Never>

    /// What a queued worker is woken with.
    private enum Turn {
        /// Its row was committed (or failed with the batch).
        case done(Result<Void, any Error>)
        /// It commits the next batch, its own row included.
        case lead
    }

    private struct Entry {
        var id: UInt64
        var completion: WorkCompletion
        var waiter: Waiter?
    }

    private struct State {
        var queued: [Entry] = []
        /// Results of rows committed before their workers had parked.
        var results: [UInt64: Result<Void, any Error>] = [:]
        var isCommitting = false
        var nextID: UInt64 = 0
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
    ///
    /// - Throws: The store's error, for every row of the batch; `CancellationError` when cancelled while queued.
    func commit(_ completion: WorkCompletion) async throws {
        let (id, leads) = state.withLock { state -> (UInt64, Bool) in
            state.nextID += 1
            state.queued.append(Entry(id: state.nextID, completion: completion))
            guard !state.isCommitting else { return (state.nextID, false) }
            state.isCommitting = true
            return (state.nextID, true)
        }
        if leads { return try await lead(id) }
        let turn = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let resumeNow = state.withLock { state -> Turn? in
                    if let result = state.results.removeValue(forKey: id) { return .done(result) }
                    guard let index = state.queued.firstIndex(where: { $0.id == id }) else { return .done(.failure(CancellationError())) }
                    if Task.isCancelled {
                        state.queued.remove(at: index)
                        return .done(.failure(CancellationError()))
                    }
                    if !state.isCommitting {
                        state.isCommitting = true
                        return .lead
                    }
                    state.queued[index].waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.queued.firstIndex(where: { $0.id == id }), let waiter = state.queued[index].waiter else { return nil }
                state.queued.remove(at: index)
                return waiter
            }
            waiter?.resume(returning: .done(.failure(CancellationError())))
        }
        switch turn {
        case .done(let result): try result.get()
        case .lead: try await lead(id)
        }
    }

    /// Commits everything queued (the row of `leader`, this worker, is among it), wakes those rows' workers, and
    /// hands the next batch to the first worker that parked since (one still on its way leads itself).
    private func lead(_ leader: UInt64) async throws {
        let batch = state.withLock { state in
            defer { state.queued.removeAll() }
            return state.queued
        }
        let result: Result<Void, any Error>
        do {
            try await store.complete(batch.map(\.completion), quota: quota())
            result = .success(())
        } catch {
            result = .failure(error)
        }
        let (parked, next) = state.withLock { state -> ([Waiter], Waiter?) in
            var parked: [Waiter] = []
            for entry in batch where entry.id != leader {
                if let waiter = entry.waiter { parked.append(waiter) } else { state.results[entry.id] = result }
            }
            guard let index = state.queued.firstIndex(where: { $0.waiter != nil }) else {
                state.isCommitting = false
                return (parked, nil)
            }
            let next = state.queued[index].waiter
            state.queued[index].waiter = nil
            return (parked, next)
        }
        for waiter in parked { waiter.resume(returning: .done(result)) }
        next?.resume(returning: .lead)
        try result.get()
    }
}
