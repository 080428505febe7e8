/// Hands pending work items to workers in manifest order, fetching them from the store a page at a time.
///
/// Items in flight stay pending in the store until committed; the cursor moves past them, so no item is handed
/// out twice in one run.
actor WorkQueue {
    private let store: any CheckpointStore
    private var buffer: [WorkItem] = []
    private var cursor: Int64 = 0
    private var isDrained = false
    private var remaining: Int?
    /// The page being fetched; it installs the page into the queue before it completes, so whoever awaits it
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
                let cursor = self.cursor
                refill = Task {
                    let page = try await store.pendingWork(after: cursor, limit: Self.pageSize)
                    self.install(page)
                }
            }
            try await refill?.value
        }
    }

    private func install(_ page: [WorkItem]) {
        if page.count < Self.pageSize { isDrained = true }
        if let last = page.last { cursor = last.id }
        buffer = page.reversed()
        refill = nil
    }
}
