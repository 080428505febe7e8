package import Foundation

/// `summary.json`: the job's row counts as they stand after this invocation, and what this invocation did.
package struct RunSummary: Codable, Sendable, Equatable {
    package var kind: String
    package var rows: Int
    package var accepted: Int
    package var rejected: Int
    package var succeeded: Int
    package var failed: Int
    package var pending: Int
    /// idscan-create rows whose request may have reached the server without an answer.
    package var unknown: Int
    /// Rows the service answered it does not know (number-verify's 404 with its error body): finished, not failed.
    package var notFound: Int
    /// Rows finished with an earlier campaign's answer (`reuse`): counted in `succeeded` or `not_found` too.
    package var reused: Int
    /// HTTP requests this invocation sent, token requests included.
    package var requests: Int
    /// Rate-limit answers this invocation received (429 or a `policies.ratelimit.*` fault).
    package var throttled: Int
    /// Re-sends of a row's request after a transient failure, a rate-limit answer or a token renewal.
    package var retries: Int
    package var durationSeconds: Double
    package var exitCode: Int32
    /// Why the run stopped early, when it did.
    package var stopReason: String?
    /// `api-version` of the last answer.
    package var apiVersion: String?
    /// A `sunset` notice other than `n/a`.
    package var sunset: String?
    package var startedAt: String
    package var finishedAt: String
    package var manifestSHA256: String
    /// The batch-runner version that wrote this summary.
    package var runnerVersion: String = RunnerVersion.current
    /// Whether the results came from the embedded sandbox (`run --sandbox`): the emulator's, not production's.
    package var sandbox = false
    /// Where the results came from: `scheme://host:port` of each endpoint (empty for the embedded sandbox).
    package var origins: [String] = []

    enum CodingKeys: String, CodingKey {
        case kind, rows, accepted, rejected, succeeded, failed, pending, unknown, requests, throttled, retries
        case notFound = "not_found"
        case reused
        case durationSeconds = "duration_seconds"
        case exitCode = "exit_code"
        case stopReason = "stop_reason"
        case apiVersion = "api_version"
        case sunset
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case manifestSHA256 = "manifest_sha256"
        case runnerVersion = "runner_version"
        case sandbox, origins
    }

    /// The summary of a job whose rows stand at `counts`, after an invocation that sent `requests` (token
    /// requests included), received `throttled` rate-limit answers and made `retries` re-sends.
    package init(
        kind: String, counts: StateCounts, requests: Int, throttled: Int, retries: Int, durationSeconds: Double,
        exitCode: Int32, stopReason: String?, apiVersion: String?, sunset: String?, startedAt: String, finishedAt: String,
        manifestSHA256: String
    ) {
        (self.kind, self.rows, self.accepted, self.rejected) = (kind, counts.rows, counts.accepted, counts.rejected)
        (self.succeeded, self.failed, self.pending, self.unknown, self.notFound) = (counts.succeeded, counts.failed, counts.pending, counts.unknown, counts.notFound)
        self.reused = counts.reused
        (self.requests, self.throttled, self.retries, self.durationSeconds) = (requests, throttled, retries, durationSeconds)
        (self.exitCode, self.stopReason, self.apiVersion, self.sunset) = (exitCode, stopReason, apiVersion, sunset)
        (self.startedAt, self.finishedAt, self.manifestSHA256) = (startedAt, finishedAt, manifestSHA256)
    }

    /// Says where the results came from.
    package mutating func record(_ provenance: StateProvenance) {
        (sandbox, origins) = (provenance.sandbox, provenance.origins)
    }

    package func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}
