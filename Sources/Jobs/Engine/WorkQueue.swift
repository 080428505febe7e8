import Synchronization

/// Hands claimed work items to workers in manifest order, claiming them from the store a page at a time.
///
/// Items in flight stay pending in the store until committed; the store hands each out once, so no item goes to
/// two workers. Taking an item from the page in hand is a lock, not an actor hop: it happens once per row.
final class WorkQueue: Sendable {
    private struct State {
        var buffer: [WorkItem] = []
        var isDrained = false
        var remaining: Int?
        /// The page being claimed; it installs the page before it completes, so whoever awaits it finds the
        /// buffer filled (or the queue drained).
        var refill: Task<Void, any Error>?
    }

    private enum Step {
        case item(WorkItem)
        case drained
        case wait(Task<Void, any Error>)
    }

    private let store: any CheckpointStore
    private let state: Mutex<State>
    private let clock: EngineClock
    private let isStopping: @Sendable () -> Bool
    /// Called when a claim finds nothing (the worker has no rows in hand for now).
    private let onIdle: @Sendable () async -> Void
    /// How often a worker with nothing to claim looks again while other workers hold items.
    static let pollInterval = Duration.seconds(1)

    /// - Parameters:
    ///   - limit: Hand out at most this many items (`--limit`); nil for all.
    ///   - clock: What a worker waiting for other workers' items sleeps on.
    ///   - isStopping: Whether the run stops (a waiting worker then gives up at once).
    ///   - onIdle: Called when a claim finds nothing (a worker gives back the shared quota it holds).
    init(
        store: any CheckpointStore, limit: Int?, clock: EngineClock, isStopping: @escaping @Sendable () -> Bool = { false },
        onIdle: @escaping @Sendable () async -> Void = {}
    ) {
        self.store = store
        self.state = Mutex(State(remaining: limit))
        self.clock = clock
        self.isStopping = isStopping
        self.onIdle = onIdle
    }

    /// The next item, or nil when there is none left.
    func next() async throws -> WorkItem? {
        while true {
            let step = state.withLock { state -> Step in
                if let remaining = state.remaining, remaining <= 0 { return .drained }
                if let item = state.buffer.popLast() {
                    state.remaining = state.remaining.map { $0 - 1 }
                    return .item(item)
                }
                if state.isDrained { return .drained }
                if let refill = state.refill { return .wait(refill) }
                let size = state.remaining.map { min($0, store.claimSize) } ?? store.claimSize
                let refill = Task { try await self.claimPage(size: size) }
                state.refill = refill
                return .wait(refill)
            }
            switch step {
            case .item(let item): return item
            case .drained: return nil
            case .wait(let refill): try await refill.value
            }
        }
    }

    /// Claims a page. On a shared store, a worker that finds nothing waits while other live workers hold items:
    /// a dead worker's items come back when its lease runs out, and this worker takes them over.
    private func claimPage(size: Int) async throws {
        var page = try await store.claim(limit: size)
        if page.isEmpty { await onIdle() }
        while page.isEmpty, store.isShared, !isStopping(), try await store.unfinishedItemsElsewhere() > 0 {
            try await clock.sleep(for: Self.pollInterval)
            page = try await store.claim(limit: size)
        }
        install(page, asked: size)
    }

    private func install(_ page: [WorkItem], asked: Int) {
        state.withLock { state in
            // A short page ends a private store's queue; a shared store's only ends when a claim finds nothing
            // (other workers may have released items meanwhile).
            if page.isEmpty || (page.count < asked && !store.isShared) { state.isDrained = true }
            state.buffer = page.reversed()
            state.refill = nil
        }
    }
}
