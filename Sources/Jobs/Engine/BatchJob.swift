/// One job kind: how manifest rows become work, how work becomes requests, and how results become CSV.
package protocol BatchJob: Sendable {
    /// The header of results.csv.
    var resultHeader: [String] { get }
    /// The job settings that change how rows are read; a state made with other settings is not resumed.
    var intakeSettings: String { get }
    /// Checks the manifest header and answers how to read each data row.
    ///
    /// - Throws: ``JobError`` 65 when a column the job needs is missing or ambiguous.
    func rowReader(header: ManifestHeader) throws(JobError) -> RowReader
    /// Makes the token provider the job's requests use (nil when the API takes none).
    func makeTokenProvider(transport: HTTPTransport, credentials: ClientCredentials, wallClock: WallClock) -> TokenProvider?
    /// Does the work of one item and says how it ended. Jobs whose requests are not idempotent record each send in
    /// `journal` first.
    ///
    /// - Throws: ``JobError`` when the run must stop; `CancellationError`.
    func perform(_ item: WorkItem, client: APIClient, journal: SendJournal) async throws -> WorkCompletion
    /// The results.csv fields of a finished row.
    func resultFields(of row: FinishedRow) -> [String]
    /// How rows whose values collide are rejected (all but the first); nil when they share one work item.
    var duplicateReason: DuplicateReason? { get }
    /// Output subfolders the job writes files to (their stale temporary files are removed at start).
    var fileFolders: [String] { get }
    /// Writes the job's own outputs beside results.csv, at every exit.
    func writeOutputs(store: any CheckpointStore, outputFolder: String) async throws
}

extension BatchJob {
    package var duplicateReason: DuplicateReason? { nil }
    package var fileFolders: [String] { [] }
    package func writeOutputs(store: any CheckpointStore, outputFolder: String) async throws {}
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
