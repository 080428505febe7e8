package import Jobs

/// An intake of rows given in full, for store tests: one batch, each accepted row marked as a possible repeat
/// exactly when an earlier accepted row has its value (a perfect filter).
package struct RowsIntakeSource: IntakeSource {
    private let items: [IntakeItem]
    private let made: IntakeSignature

    package init(_ rows: [IntakeRow], signature: IntakeSignature = IntakeSignature(manifestSHA256: "abc", job: "job")) {
        var seen = Set<String>()
        items = rows.map { row in
            guard row.rejectReason == nil else { return IntakeItem(row: row, maybeRepeated: false) }
            return IntakeItem(row: row, maybeRepeated: !seen.insert(row.value).inserted)
        }
        made = signature
    }

    private final class Cursor: @unchecked Sendable {
        // Read by one store's intake at a time.
        var handedOver = false
    }
    private let cursor = Cursor()

    package func nextBatch() throws -> [IntakeItem]? {
        guard !cursor.handedOver else { return nil }
        cursor.handedOver = true
        return items
    }

    package func signature() throws -> IntakeSignature { made }
}

extension CheckpointStore {
    /// Replaces the intake with `rows`.
    @discardableResult
    package func replaceIntake(
        rows: [IntakeRow],
        duplicateReason: DuplicateReason? = nil,
        signature: IntakeSignature = IntakeSignature(manifestSHA256: "abc", job: "job")
    ) async throws -> IntakeSignature {
        try await replaceIntake(from: RowsIntakeSource(rows, signature: signature), duplicateReason: duplicateReason)
    }
}
