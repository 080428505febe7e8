import Synchronization

/// Hands claimed work items to workers in manifest order, claiming them from the store a page at a time.
///
/// Items in flight stay pending in the store until committed; the store hands each out once, so no item goes to
/// two workers. Taking an item from the page in hand is a lock, not an actor hop: it happens once per row.
///
/// No task of its own: the worker that finds the page empty claims the next one itself; the others wait for it
/// (a wait that ends on cancellation), and if that claim fails, they all see its error.
final class WorkQueue: Sendable {
    private typealias Waiter = CheckedContinuation<Void, any Error>

    private struct State {
        var buffer: [WorkItem] = []
        var isDrained = false
        var remaining: Int?
        /// A worker claims the next page now.
        var isClaiming = false
        /// Workers waiting for that claim, woken when it ends.
        var waiters: [(id: UInt64, continuation: Waiter)] = []
        var nextWaiter: UInt64 = 0
        /// Why claiming failed: every later call fails the same way.
        var failure: (any Error)?
    }

    private enum Step {
        case item(WorkItem)
        case drained
        case failed(any Error)
        case claim(size: Int)
        case wait
    }

    private let store: any CheckpointStore
    private let state: Mutex<State>
    private let clock: EngineClock
    private let isStopping: @Sendable () -> Bool
    /// Called when a claim finds nothing (the worker has no rows in hand for now).
    private let onIdle: @Sendable () async throws -> Void
    /// How often a worker with nothing to claim looks again while other workers hold items.
    static let pollInterval = Duration.seconds(1)

    /// - Parameters:
    ///   - limit: Hand out at most this many items (`--limit`); nil for all.
    ///   - clock: What a worker waiting for other workers' items sleeps on.
    ///   - isStopping: Whether the run stops (a waiting worker then gives up at once).
    ///   - onIdle: Called when a claim finds nothing (a worker gives back the shared quota it holds).
    init(
        store: any CheckpointStore, limit: Int?, clock: EngineClock, isStopping: @escaping @Sendable () -> Bool = { false },
        onIdle: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.store = store
        self.state = Mutex(State(remaining: limit))
        self.clock = clock
        self.isStopping = isStopping
        self.onIdle = onIdle
    }

    /// The next item, or nil when there is none left.
    ///
    /// - Throws: The store's error when claiming failed; `CancellationError`.
    func next() async throws -> WorkItem? {
        while true {
            try Task.checkCancellation()
            let step = state.withLock { state -> Step in
                if let remaining = state.remaining, remaining <= 0 { return .drained }
                if let item = state.buffer.popLast() {
                    state.remaining = state.remaining.map { $0 - 1 }
                    return .item(item)
                }
                if state.isDrained { return .drained }
                if let failure = state.failure { return .failed(failure) }
                if state.isClaiming { return .wait }
                state.isClaiming = true
                return .claim(size: state.remaining.map { min($0, store.claimSize) } ?? store.claimSize)
            }
            switch step {
            case .item(let item): return item
            case .drained: return nil
            case .failed(let error): throw error
            case .wait: try await waitForClaim()
            case .claim(let size):
                do {
                    let page = try await claimPage(size: size)
                    finishClaim(.claimed(page, asked: size))
                } catch is CancellationError {
                    finishClaim(.cancelled)
                    throw CancellationError()
                } catch {
                    finishClaim(.failed(error))
                    throw error
                }
            }
        }
    }

    /// Waits until the claim in progress ends (then the caller looks again).
    private func waitForClaim() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Waiter) in
                let resumeNow = state.withLock { state -> Bool in
                    guard state.isClaiming, !Task.isCancelled else { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Claims a page. On a shared store, a worker that finds nothing waits while other live workers hold items:
    /// a dead worker's items come back when its lease runs out, and this worker takes them over.
    private func claimPage(size: Int) async throws -> [WorkItem] {
        var page = try await store.claim(limit: size)
        if page.isEmpty { try await onIdle() }
        while page.isEmpty, store.isShared, !isStopping(), try await store.unfinishedItemsElsewhere() > 0 {
            try await clock.sleep(for: Self.pollInterval)
            page = try await store.claim(limit: size)
        }
        return page
    }

    private enum ClaimEnd {
        case claimed([WorkItem], asked: Int)
        /// The claiming worker was cancelled: another one claims.
        case cancelled
        case failed(any Error)
    }

    /// Installs a claimed page (or records why claiming failed) and wakes the workers waiting for it.
    private func finishClaim(_ end: ClaimEnd) {
        let waiters = state.withLock { state in
            switch end {
            case .claimed(let page, let asked):
                // A short page ends a private store's queue; a shared store's only ends when a claim finds nothing
                // (other workers may have released items meanwhile).
                if page.isEmpty || (page.count < asked && !store.isShared) { state.isDrained = true }
                state.buffer = page.reversed()
            case .cancelled:
                break
            case .failed(let error):
                state.failure = error
            }
            state.isClaiming = false
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume() }
    }
}
