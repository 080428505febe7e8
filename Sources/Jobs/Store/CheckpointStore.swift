/// Where a job's progress lives, so a killed or stopped run resumes where it stopped.
///
/// Rows are the manifest's data rows; work items are what is actually sent (rows with the same normalised value
/// share one work item, so a number that appears twice is looked up once). SQLite implements it today
/// (``SQLiteCheckpointStore``); a PostgreSQL store for several workers is planned behind the same protocol.
package protocol CheckpointStore: Sendable {
    /// The signature of the intake the store holds, or nil when it holds none (new, or killed during intake).
    func intakeSignature() async throws -> IntakeSignature?

    /// Replaces everything with a fresh intake: `produce` is called once, emits every manifest row and answers
    /// the intake's signature. All rows and the signature are committed together, or none are.
    /// With `duplicateReason`, accepted rows whose value an earlier accepted row has are rejected instead, for
    /// the reason it gives (the value, the first row's number); without it they share the first row's work item.
    func replaceIntake(
        duplicateReason: DuplicateReason?,
        produce: @escaping @Sendable (_ emit: (IntakeRow) throws -> Void) throws -> IntakeSignature
    ) async throws

    /// Up to `limit` pending work items with an id above `id`, in id (manifest) order.
    func pendingWork(after id: Int64, limit: Int) async throws -> [WorkItem]

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

    /// Row counts by state.
    func counts() async throws -> StateCounts

    /// Every finished row (succeeded, failed or unknown), in row order.
    func forEachFinishedRow(_ body: (FinishedRow) throws -> Void) async throws

    /// Every saved file of a finished work item, in path order, with the item's value.
    func forEachSavedFile(_ body: (_ file: SavedFile, _ value: String) throws -> Void) async throws

    /// Every rejected row, in row order.
    func forEachRejectedRow(_ body: (RejectedRow) throws -> Void) async throws

    /// The most common errors of failed and unknown work items, most frequent first.
    func errorCounts(limit: Int) async throws -> [(error: String, count: Int)]

    /// Every limiter's last saved quota state.
    func allQuotas() async throws -> [StoredQuota]

    /// The last quota state saved for a limiter.
    func quota(for limiter: String) async throws -> StoredQuota?

    /// Saves a limiter's quota state.
    func saveQuota(_ quota: StoredQuota) async throws
}

/// What an intake was made from: a state made from another manifest or job must not be resumed.
package struct IntakeSignature: Sendable, Equatable {
    /// SHA-256 of the manifest's bytes.
    package var manifestSHA256: String
    /// The job settings that decide how rows are read (kind, columns, delimiter, options).
    package var job: String

    package init(manifestSHA256: String, job: String) {
        self.manifestSHA256 = manifestSHA256
        self.job = job
    }
}

/// One manifest row after validation.
package struct IntakeRow: Sendable, Equatable {
    /// 1-based data row number.
    package var row: Int
    /// The `key` column's value, if the job has one.
    package var key: String?
    /// Accepted: the work item's identity (the normalised value). Rejected: the offending raw value.
    package var value: String
    /// Accepted rows: what the job needs to send the request (job-specific text).
    package var payload: String?
    /// Rejected rows: why, for a person to act on.
    package var rejectReason: String?

    package init(row: Int, key: String?, value: String, payload: String? = nil, rejectReason: String? = nil) {
        self.row = row
        self.key = key
        self.value = value
        self.payload = payload
        self.rejectReason = rejectReason
    }
}

/// The states of a work item.
package enum WorkState: Int, Sendable, CaseIterable {
    case pending = 0
    case succeeded = 1
    case failed = 2
    /// A non-idempotent request may have reached the server, and no answer was recorded.
    case unknown = 3
    /// A non-idempotent request is about to leave (becomes `unknown` if the run dies now).
    case sending = 4
}

/// A pending work item handed to a worker.
package struct WorkItem: Sendable, Equatable {
    package var id: Int64
    package var value: String
    package var payload: String?
    package var attempts: Int
}

/// A finished work item, ready to commit.
package struct WorkCompletion: Sendable, Equatable {
    package var id: Int64
    package var state: WorkState
    package var attempts: Int
    /// Job-specific result fields, in the job's result column order.
    package var result: [String]
    package var error: String?
    /// Files the work item saved (recorded for checksums and provenance).
    package var files: [SavedFile]

    package init(id: Int64, state: WorkState, attempts: Int, result: [String], error: String?, files: [SavedFile] = []) {
        self.id = id
        self.state = state
        self.attempts = attempts
        self.result = result
        self.error = error
        self.files = files
    }
}

/// Why a row repeating an earlier row's value is rejected: `(value, first row) -> reason`.
package typealias DuplicateReason = @Sendable (_ value: String, _ firstRow: Int) -> String

/// A file saved by a work item: what SHA256SUMS and provenance.csv list.
package struct SavedFile: Sendable, Equatable {
    /// Relative to the output folder (`reports/<t>_<r>_simple.pdf`).
    package var path: String
    /// What the file is (`simple`, `extended`, `image`).
    package var kind: String
    package var sha256: String
    package var bytes: Int
    /// When the request that fetched it was sent, ISO-8601 UTC.
    package var requestedAt: String
    /// Method and path (with query) of that request; never a host, token or secret.
    package var apiPath: String
    package var httpStatus: Int
    /// The answer's `api-version` header, empty when it had none.
    package var apiVersion: String
    package var contentType: String

    package init(path: String, kind: String, sha256: String, bytes: Int, requestedAt: String, apiPath: String, httpStatus: Int, apiVersion: String, contentType: String) {
        self.path = path
        self.kind = kind
        self.sha256 = sha256
        self.bytes = bytes
        self.requestedAt = requestedAt
        self.apiPath = apiPath
        self.httpStatus = httpStatus
        self.apiVersion = apiVersion
        self.contentType = contentType
    }
}

/// A finished row joined with its work item's outcome.
package struct FinishedRow: Sendable, Equatable {
    package var row: Int
    package var key: String?
    package var value: String
    package var state: WorkState
    package var attempts: Int
    package var result: [String]
    package var error: String?
}

/// A rejected row.
package struct RejectedRow: Sendable, Equatable {
    package var row: Int
    package var key: String?
    package var value: String
    package var reason: String
}

/// Row counts of a job as it stands.
package struct StateCounts: Sendable, Equatable {
    package var rows = 0
    package var rejected = 0
    package var succeeded = 0
    package var failed = 0
    package var unknown = 0
    package var pending = 0
    /// Distinct work items still pending (what the run will send).
    package var pendingWork = 0

    package var accepted: Int { rows - rejected }

    package init() {}
}

/// A limiter's last known quota, in server time, so the next run can judge it against its own clock.
package struct StoredQuota: Sendable, Equatable {
    /// Which limiter (API host and credential; never the secret itself).
    package var limiter: String
    package var limit: Int
    package var used: Int
    /// The window's length in seconds, when known.
    package var windowSeconds: Double?
    /// The reset as server epoch seconds, when known.
    package var resetEpochSeconds: Double?
    /// Server clock minus local clock when this was saved, in seconds.
    package var serverClockOffset: Double

    /// Seconds from local time `localEpochSeconds` to the reset (negative once it passed), when the reset is known.
    package func resetIn(atLocal localEpochSeconds: Double) -> Double? {
        resetEpochSeconds.map { $0 - (localEpochSeconds + serverClockOffset) }
    }
}
