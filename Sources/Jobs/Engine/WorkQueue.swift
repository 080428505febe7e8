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
    static let pageSize = 512

    /// - Parameter limit: Hand out at most this many items (`--limit`); nil for all.
    init(store: any CheckpointStore, limit: Int?) {
        self.store = store
        self.state = Mutex(State(remaining: limit))
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
                let size = state.remaining.map { min($0, Self.pageSize) } ?? Self.pageSize
                let store = self.store
                let refill = Task {
                    let page = try await store.claim(limit: size)
                    self.install(page, asked: size)
                }
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

    private func install(_ page: [WorkItem], asked: Int) {
        state.withLock { state in
            if page.count < asked { state.isDrained = true }
            state.buffer = page.reversed()
            state.refill = nil
        }
    }
}
