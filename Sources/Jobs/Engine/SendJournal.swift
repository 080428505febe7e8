/// Lets a job record, durably, that a non-idempotent request for a work item is about to leave, so a run that
/// dies before the answer is committed leaves the row `unknown` instead of sending it again.
package struct SendJournal: Sendable {
    private let mark: @Sendable (Int64) async throws -> Void

    package init(mark: @escaping @Sendable (Int64) async throws -> Void) {
        self.mark = mark
    }

    /// A journal backed by the checkpoint store.
    package init(store: any CheckpointStore) {
        self.mark = { try await store.markSending($0) }
    }

    /// Records that the request for work item `id` may reach the service from now on.
    package func markSending(_ id: Int64) async throws {
        try await mark(id)
    }
}
