/// Where a job's progress lives, so a killed or stopped run resumes where it stopped: the engine's seam to its
/// state. ``CheckpointStores/open(_:)`` chooses the implementation from the job's `state:`.
///
/// Rows are the manifest's data rows; work items are what is actually sent (rows with the same normalised value
/// share one work item, so a number that appears twice is looked up once). Every store passes the same
/// conformance suite (`Tests/JobsTests/CheckpointStoreConformanceTests.swift`).
package protocol CheckpointStore: Sendable {
    // MARK: Runs and claims
    // A store opened with ``StoreAccess/run`` holds this process's right to work the state (SQLite: an exclusive
    // lock, so a second run exits 75) until ``endRun()``.

    /// Gives up the right to work the state; claimed items not completed stay pending.
    func endRun() async

    /// The store's background work during a run (a PostgreSQL worker's heartbeat), as a child task of the run
    /// until it is cancelled; stores without any return at once.
    ///
    /// - Throws: What must end the run (``StoreError/claimLost(location:)``: the lease ran out).
    func maintain() async throws

    /// Closes the store's connections; nothing is read or written after.
    func close() async

    /// Whether some run works the state now (for `status`).
    func isRunActive() async throws -> Bool

    /// Up to `limit` pending work items not claimed since the last intake, requeue or end of run, in manifest
    /// order: during a run each item is handed out once. (Requeues happen before a run's first claim.)
    func claim(limit: Int) async throws -> [WorkItem]

    // MARK: Intake

    /// The signature of the intake the store holds, or nil when it holds none (new, or killed during intake).
    func intakeSignature() async throws -> IntakeSignature?

    /// What made the state and where its results came from; nil for a state made before it was recorded.
    func provenance() async throws -> StateProvenance?

    /// Records `provenance` with the intake the store holds.
    func recordProvenance(_ provenance: StateProvenance) async throws

    /// Keeps the answers (`ok`, `not_found`) of the campaign the store holds, received from `source` (a
    /// ``StateProvenance/sourceKey``), with their saved files, for later campaigns to reuse; call before a fresh
    /// intake replaces them. A file's bytes come from the store when it keeps them, else from `contents` (nil: the
    /// file is gone or changed, and its answer is not kept). Kept answers older than `since` (epoch seconds) go.
    func keepAnswers(source: String, since: Double?, contents: (SavedFile) -> [UInt8]?) async throws

    /// Finishes every pending item that an earlier campaign had answered from `source` at `since` (epoch seconds)
    /// or later, for the same request (value and payload), with that answer (attempts 0); answers the rows so
    /// finished. Each answer's saved files are handed to `restore` before the commit that finishes their items.
    func reuseAnswers(source: String, since: Double, restore: (SavedFile, [UInt8]) throws -> Void) async throws -> Int

    /// Every answer a new campaign could reuse from `source` since `since`: the kept ones, and the current
    /// campaign's own when `includingCurrent` (its results came from `source`), oldest first (`validate`).
    func forEachReusableAnswer(source: String, since: Double, includingCurrent: Bool, _ body: (KeptAnswer) throws -> Void) async throws

    /// Replaces everything with a fresh intake: every batch `source` hands over, then its signature, committed
    /// together or not at all. Answers the signature.
    /// With `duplicateReason`, accepted rows whose value an earlier accepted row has are rejected instead, for
    /// the reason it gives (the value, the first row's number); without it they share the first row's work item.
    ///
    /// - Throws: The source's error (a manifest problem), or the store's own.
    func replaceIntake(from source: any IntakeSource, duplicateReason: DuplicateReason?) async throws -> IntakeSignature

    // MARK: Work

    /// Records, durably, that a non-idempotent request for this work item is about to leave: if the run dies
    /// before ``complete(_:quota:)``, the item ends `unknown` instead of being sent again.
    func markSending(_ id: Int64) async throws

    /// Turns items a dead run left `sending` into `unknown`, with `error`; answers how many.
    func settleInterruptedSends(error: String) async throws -> Int

    /// Commits finished work items (with the files they saved), and the limiter's quota state when given, in one
    /// transaction.
    func complete(_ completions: [WorkCompletion], quota: StoredQuota?) async throws

    /// Puts work items in these states back to pending; answers how many.
    func requeue(_ states: [WorkState]) async throws -> Int

    // MARK: Reading

    /// Row counts by state.
    func counts() async throws -> StateCounts

    /// Every finished row (succeeded, failed or unknown), in row order.
    func forEachFinishedRow(_ body: (FinishedRow) throws -> Void) async throws

    /// Every saved file of a finished work item, in path order, with the item's value and row (its first
    /// manifest row).
    func forEachSavedFile(_ body: (_ file: SavedFile, _ value: String, _ row: Int64) throws -> Void) async throws

    /// Every rejected row, in row order.
    func forEachRejectedRow(_ body: (RejectedRow) throws -> Void) async throws

    /// Whether a work item has this value: a file named after it is this job's own.
    func containsItem(value: String) async throws -> Bool

    /// The most common errors of failed and unknown work items, most frequent first.
    func errorCounts(limit: Int) async throws -> [(error: String, count: Int)]

    // MARK: Quota

    /// Every limiter's last saved quota state.
    func allQuotas() async throws -> [StoredQuota]

    /// The last quota state saved for a limiter.
    func quota(for limiter: String) async throws -> StoredQuota?

    /// Saves a limiter's quota state.
    func saveQuota(_ quota: StoredQuota) async throws

    // MARK: Several workers
    // A PostgreSQL store lets several processes work one campaign; a SQLite state has one run at a time and
    // answers the defaults below.

    /// Whether several processes may work this state at once.
    var isShared: Bool { get }

    /// How many items a claim asks for: small batches when other workers share the campaign.
    var claimSize: Int { get }

    /// Runs `body` while no other worker reads an intake into this campaign: the first to start reads the
    /// manifest, the others wait here and then find its signature.
    func withIntakeLock<T: Sendable>(_ body: () async throws -> T) async throws -> T

    /// Unfinished work items this worker does not hold: held by other workers (live, or dead until their lease
    /// runs out), or being claimed by one right now. A worker with nothing left to claim waits while there are any.
    func unfinishedItemsElsewhere() async throws -> Int

    /// The workers that work the campaign, or did recently (for `status`).
    func workers() async throws -> [WorkerRecord]

    /// Other workers of the campaign whose lease runs now: while there are any, files in a shared output folder
    /// that no finished row recorded may be theirs, in flight.
    func liveWorkersElsewhere() async throws -> Int

    /// This worker's lease on what it claimed, when other workers may take its items over once it runs out: the
    /// engine sends only while it runs.
    var workerLease: WorkerLease? { get }

    /// A saved file's bytes, when the store keeps them (`export`); nil when they live only in the output folder.
    func savedFileContents(_ path: String) async throws -> [UInt8]?

    /// The quota every worker on the same credential and host shares, when the store keeps one.
    var sharedQuota: (any SharedQuotaLedger)? { get }
}

extension CheckpointStore {
    package var isShared: Bool { false }
    package var claimSize: Int { 512 }
    package func withIntakeLock<T: Sendable>(_ body: () async throws -> T) async throws -> T { try await body() }
    package func unfinishedItemsElsewhere() async throws -> Int { 0 }
    package func workers() async throws -> [WorkerRecord] { [] }
    package func liveWorkersElsewhere() async throws -> Int { 0 }
    package var workerLease: WorkerLease? { nil }
    package func maintain() async throws {}
    package func close() async {}
    package func savedFileContents(_ path: String) async throws -> [UInt8]? { nil }
    package var sharedQuota: (any SharedQuotaLedger)? { nil }
}

/// One worker of a shared campaign, as `status` lists it.
package struct WorkerRecord: Sendable, Equatable {
    package var host: String
    package var pid: Int
    /// ISO-8601 UTC.
    package var startedAt: String
    package var lastHeartbeat: String
    /// Whether its lease is still running (a dead worker's items are taken over once it is not).
    package var isLive: Bool
    /// Whether it has ended its run.
    package var hasEnded: Bool
    /// Work items it holds now.
    package var itemsHeld: Int

    package init(host: String, pid: Int, startedAt: String, lastHeartbeat: String, isLive: Bool, hasEnded: Bool, itemsHeld: Int) {
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.lastHeartbeat = lastHeartbeat
        self.isLive = isLive
        self.hasEnded = hasEnded
        self.itemsHeld = itemsHeld
    }
}

/// The manifest's rows as the engine hands them to ``CheckpointStore/replaceIntake(from:duplicateReason:)``.
package protocol IntakeSource: Sendable {
    /// The next batch of rows in manifest order, or nil when every row was handed over. Blocks until one is ready.
    ///
    /// - Throws: The manifest problem that ended reading.
    func nextBatch() throws -> [IntakeItem]?

    /// What the intake was made from; available once ``nextBatch()`` answered nil.
    func signature() throws -> IntakeSignature
}

/// A manifest row on its way into the store.
package struct IntakeItem: Sendable {
    package var row: IntakeRow
    /// An accepted row whose value may have been seen earlier in the manifest (a filter's answer: false means
    /// surely new). Rejected rows are never marked.
    package var maybeRepeated: Bool

    package init(row: IntakeRow, maybeRepeated: Bool) {
        self.row = row
        self.maybeRepeated = maybeRepeated
    }
}
