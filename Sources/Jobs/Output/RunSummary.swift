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

    enum CodingKeys: String, CodingKey {
        case kind, rows, accepted, rejected, succeeded, failed, pending, unknown, requests, throttled, retries
        case durationSeconds = "duration_seconds"
        case exitCode = "exit_code"
        case stopReason = "stop_reason"
        case apiVersion = "api_version"
        case sunset
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case manifestSHA256 = "manifest_sha256"
        case runnerVersion = "runner_version"
    }

    package func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}
