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
        var completion: WorkCompletion
        /// The parked worker, while it waits.
        var waiter: Waiter?
        /// Its commit's result, when that came before the worker parked.
        var result: Result<Void, any Error>?
    }

    private struct State {
        /// Every row between its arrival and its worker's wake-up.
        var entries: [UInt64: Entry] = [:]
        /// Rows not yet taken into a commit, in arrival order.
        var queued: [UInt64] = []
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
            state.entries[state.nextID] = Entry(completion: completion)
            state.queued.append(state.nextID)
            guard !state.isCommitting else { return (state.nextID, false) }
            state.isCommitting = true
            return (state.nextID, true)
        }
        if leads { return try await lead(id) }
        let turn = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let resumeNow = state.withLock { state -> Turn? in
                    if let result = state.entries[id]?.result {
                        state.entries[id] = nil
                        return .done(result)
                    }
                    let isQueued = state.queued.contains(id)
                    if isQueued, Task.isCancelled {
                        state.queued.removeAll { $0 == id }
                        state.entries[id] = nil
                        return .done(.failure(CancellationError()))
                    }
                    if isQueued, !state.isCommitting {
                        state.isCommitting = true
                        return .lead
                    }
                    state.entries[id]?.waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            // Only a row not yet taken into a commit leaves; one being committed waits for it (bounded by the store).
            let waiter = state.withLock { state -> Waiter? in
                guard state.queued.contains(id), let waiter = state.entries[id]?.waiter else { return nil }
                state.queued.removeAll { $0 == id }
                state.entries[id] = nil
                return waiter
            }
            waiter?.resume(returning: .done(.failure(CancellationError())))
        }
        switch turn {
        case .done(let result): try result.get()
        case .lead: try await lead(id)
        }
    }

    /// Commits every queued row (the row of `leader`, this worker, is among them), wakes those rows' workers, and
    /// hands the next batch to the first worker that parked since (one still on its way leads itself).
    private func lead(_ leader: UInt64) async throws {
        let (ids, batch) = state.withLock { state -> ([UInt64], [WorkCompletion]) in
            let ids = state.queued
            state.queued.removeAll()
            return (ids, ids.compactMap { state.entries[$0]?.completion })
        }
        let result: Result<Void, any Error>
        do {
            try await store.complete(batch, quota: quota())
            result = .success(())
        } catch {
            result = .failure(error)
        }
        let (parked, next) = state.withLock { state -> ([Waiter], Waiter?) in
            var parked: [Waiter] = []
            for id in ids {
                if id != leader, state.entries[id]?.result == nil, state.entries[id]?.waiter == nil {
                    state.entries[id]?.result = result
                    continue
                }
                if let waiter = state.entries[id]?.waiter { parked.append(waiter) }
                state.entries[id] = nil
            }
            guard let first = state.queued.first(where: { state.entries[$0]?.waiter != nil }) else {
                state.isCommitting = false
                return (parked, nil)
            }
            let next = state.entries[first]?.waiter
            state.entries[first]?.waiter = nil
            return (parked, next)
        }
        for waiter in parked { waiter.resume(returning: .done(result)) }
        next?.resume(returning: .lead)
        try result.get()
    }
}
