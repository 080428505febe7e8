/// Hands claimed work items to workers in manifest order, claiming them from the store a page at a time.
///
/// Items in flight stay pending in the store until committed; the store hands each out once, so no item goes to
/// two workers.
actor WorkQueue {
    private let store: any CheckpointStore
    private var buffer: [WorkItem] = []
    private var isDrained = false
    private var remaining: Int?
    /// The page being claimed; it installs the page into the queue before it completes, so whoever awaits it
    /// finds the buffer filled (or the queue drained).
    private var refill: Task<Void, any Error>?
    static let pageSize = 512

    /// - Parameter limit: Hand out at most this many items (`--limit`); nil for all.
    init(store: any CheckpointStore, limit: Int?) {
        self.store = store
        self.remaining = limit
    }

    /// The next item, or nil when there is none left.
    func next() async throws -> WorkItem? {
        while true {
            if let remaining, remaining <= 0 { return nil }
            if !buffer.isEmpty {
                remaining = remaining.map { $0 - 1 }
                return buffer.removeLast()
            }
            if isDrained { return nil }
            if refill == nil {
                let store = self.store
                let size = remaining.map { min($0, Self.pageSize) } ?? Self.pageSize
                refill = Task {
                    let page = try await store.claim(limit: size)
                    self.install(page, asked: size)
                }
            }
            try await refill?.value
        }
    }

    private func install(_ page: [WorkItem], asked: Int) {
        if page.count < asked { isDrained = true }
        buffer = page.reversed()
        refill = nil
    }
}
