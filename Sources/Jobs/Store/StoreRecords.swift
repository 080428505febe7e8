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
    /// The service answered that it does not know the value (a number unknown to Number Verify): finished, an
    /// answer rather than a failure, never sent again by `--retry-failed`.
    case notFound = 5
}

/// A pending work item handed to a worker.
package struct WorkItem: Sendable, Equatable {
    package var id: Int64
    package var value: String
    package var payload: String?
    package var attempts: Int

    package init(id: Int64, value: String, payload: String?, attempts: Int) {
        self.id = id
        self.value = value
        self.payload = payload
        self.attempts = attempts
    }
}

/// A finished work item, ready to commit.
package struct WorkCompletion: Sendable, Equatable {
    package var id: Int64
    package var state: WorkState
    package var attempts: Int
    /// The job's result columns (``BatchJob/storedFields(of:)``); nil for rows that did not succeed.
    package var result: [String]?
    package var error: String?
    /// Files the work item saved (recorded for checksums and provenance).
    package var files: [SavedFile]

    package init(id: Int64, state: WorkState, attempts: Int, result: [String]?, error: String?, files: [SavedFile] = []) {
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
    /// The job's result columns, as committed.
    package var result: [String]?
    package var error: String?

    package init(row: Int, key: String?, value: String, state: WorkState, attempts: Int, result: [String]?, error: String?) {
        self.row = row
        self.key = key
        self.value = value
        self.state = state
        self.attempts = attempts
        self.result = result
        self.error = error
    }
}

/// A rejected row.
package struct RejectedRow: Sendable, Equatable {
    package var row: Int
    package var key: String?
    package var value: String
    package var reason: String

    package init(row: Int, key: String?, value: String, reason: String) {
        self.row = row
        self.key = key
        self.value = value
        self.reason = reason
    }
}

/// Row counts of a job as it stands.
package struct StateCounts: Sendable, Equatable {
    package var rows = 0
    package var rejected = 0
    package var succeeded = 0
    package var failed = 0
    package var unknown = 0
    /// Rows the service answered it does not know (``WorkState/notFound``).
    package var notFound = 0
    /// Rows finished with an earlier campaign's answer (`reuse`), counted in `succeeded` or `notFound` too.
    package var reused = 0
    package var pending = 0
    /// Distinct work items still pending (what the run will send).
    package var pendingWork = 0

    package var accepted: Int { rows - rejected }

    package init() {}
}

/// A limiter's last known quota, in server time, so the next run can judge it against its own clock; or, for a
/// gateway without quota headers, the rate and window the limiter learned from its 429s.
package struct StoredQuota: Sendable, Equatable {
    /// Which limiter (API host and credential; never the secret itself).
    package var limiter: String
    /// The published limit; nil for a gateway that publishes none.
    package var limit: Int?
    package var used: Int
    /// The window's length in seconds, when known.
    package var windowSeconds: Double?
    /// The reset as server epoch seconds, when known.
    package var resetEpochSeconds: Double?
    /// Server clock minus local clock when this was saved, in seconds.
    package var serverClockOffset: Double
    /// Without quota headers: the send rate the limiter learned (requests per second), and the window it learned.
    package var learnedRate: Double?
    package var learnedWindowSeconds: Double?

    package init(
        limiter: String, limit: Int?, used: Int, windowSeconds: Double?, resetEpochSeconds: Double?, serverClockOffset: Double,
        learnedRate: Double? = nil, learnedWindowSeconds: Double? = nil
    ) {
        self.limiter = limiter
        self.limit = limit
        self.used = used
        self.windowSeconds = windowSeconds
        self.resetEpochSeconds = resetEpochSeconds
        self.serverClockOffset = serverClockOffset
        self.learnedRate = learnedRate
        self.learnedWindowSeconds = learnedWindowSeconds
    }

    /// Seconds from local time `localEpochSeconds` to the reset (negative once it passed), when the reset is known.
    package func resetIn(atLocal localEpochSeconds: Double) -> Double? {
        resetEpochSeconds.map { $0 - (localEpochSeconds + serverClockOffset) }
    }
}

/// An answer kept for `reuse`: what a request (value and payload) was answered, and when.
package struct KeptAnswer: Sendable, Equatable {
    package var value: String
    package var payload: String?
    package var state: WorkState
    package var result: [String]?
    /// Epoch seconds.
    package var answeredAt: Double

    package init(value: String, payload: String?, state: WorkState, result: [String]?, answeredAt: Double) {
        (self.value, self.payload, self.state, self.result, self.answeredAt) = (value, payload, state, result, answeredAt)
    }
}
