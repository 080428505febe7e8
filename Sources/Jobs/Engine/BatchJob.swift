/// One job kind: how manifest rows become work, how a work item becomes requests and a typed result, and which
/// columns results.csv has. Adding a kind means adding a type that conforms, and one line in ``JobKinds``.
package protocol BatchJob: Sendable {
    /// What a succeeded row records; the store keeps its ``resultColumns`` fields.
    associatedtype Result: Sendable

    /// results.csv's columns: the header and every row's values come from this one list.
    var resultColumns: [ResultColumn<Result>] { get }
    /// The job settings that change how rows are read; a state made with other settings is not resumed.
    var intakeSettings: IntakeSettings { get }
    /// Checks the manifest header and answers how to read each data row.
    ///
    /// - Throws: ``ManifestError`` when a column the job needs is missing or ambiguous; ``JobFileError`` when a
    ///   setting refers to a column the manifest lacks.
    func rowReader(header: ManifestHeader) throws -> RowReader
    /// Makes the token provider the job's requests use (nil when the API takes none).
    func makeTokenProvider(_ context: TokenContext) -> TokenProvider?
    /// Does the work of one item. Requests go through `context`, which counts their attempts; a request that
    /// fails for good throws, and the engine records the row as failed (or unknown) in one place.
    ///
    /// - Throws: ``RequestFailure``, ``AmbiguousFailure``; ``ServiceError`` when the run must stop;
    ///   `CancellationError`.
    func perform(_ item: WorkItem, context: RowContext) async throws -> RowOutcome<Result>
    /// How rows whose values collide are rejected (all but the first); nil when they share one work item.
    var duplicateReason: DuplicateReason? { get }
    /// Output subfolders the job writes files to (their stale temporary files are removed at start).
    var fileFolders: [String] { get }
    /// What to do about a row whose non-idempotent request may have reached the service; appended to its error.
    var unknownAdvice: String { get }
    /// Writes the job's own outputs beside results.csv, at every exit.
    func writeOutputs(store: any CheckpointStore, outputFolder: String, formulas: CSVFormulas) async throws
}

extension BatchJob {
    package var duplicateReason: DuplicateReason? { nil }
    package var fileFolders: [String] { [] }
    package var unknownAdvice: String { "run with --retry-unknown to send it again" }
    package func writeOutputs(store: any CheckpointStore, outputFolder: String, formulas: CSVFormulas) async throws {}
}

/// How one work item ended, as the job sees it.
package enum RowOutcome<Result: Sendable>: Sendable {
    /// Done: the typed result, a note for the error column, and the files the row saved.
    case succeeded(Result, note: String? = nil, files: [SavedFile] = [])
    /// The service answered, and the answer fails the row; the message says why.
    case failed(String)
    /// The service may have acted on a non-idempotent request without the runner knowing: never resent silently.
    case unknown(String)
    /// The service answered that it does not know the row's value: a finished answer, not a failure.
    case notFound
}

/// Reads one data row into an accepted or rejected ``IntakeRow``; cells are already checked to be UTF-8 text.
package struct RowReader: Sendable {
    /// The key column's index, so a row rejected for a broken cell elsewhere still shows its key.
    package let keyColumn: Int?
    package let read: @Sendable (_ row: Int, _ cells: ManifestCells) -> IntakeRow

    package init(keyColumn: Int? = nil, read: @escaping @Sendable (_ row: Int, _ cells: ManifestCells) -> IntakeRow) {
        self.keyColumn = keyColumn
        self.read = read
    }
}

/// The credentials a run authenticates with. Its description never shows the secret.
package struct ClientCredentials: Sendable, CustomStringConvertible {
    package var id: String
    package var secret: String

    package init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    package var description: String { "ClientCredentials(id: <\(id.count) characters>, secret: <hidden>)" }
}
