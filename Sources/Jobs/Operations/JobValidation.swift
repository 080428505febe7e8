import Foundation

/// What `batch-runner validate` found: the manifest read exactly as a run would read it (same reader, same row
/// rules, same duplicate handling), into a throwaway state, without sending anything.
public struct JobValidation: Sendable, Codable {
    public struct Reject: Sendable, Codable {
        public var row: Int
        public var key: String?
        public var reason: String
    }

    public var kind: String
    public var manifest: String
    public var manifestSHA256: String
    public var rows: Int
    public var accepted: Int
    public var rejected: Int
    /// Distinct requests a run would send (rows sharing a value share one).
    public var requests: Int
    /// The first rejects, in row order (at most `rejectLimit`).
    public var rejects: [Reject]
    /// What `--connect` found; nil without it.
    package var connect: ConnectionCheck?

    enum CodingKeys: String, CodingKey {
        case kind, manifest, rows, accepted, rejected, requests, rejects, connect
        case manifestSHA256 = "manifest_sha256"
    }

    /// Reads `configuration`'s manifest the way a run would and reports on it.
    ///
    /// - Throws: ``ManifestError`` when the manifest cannot be used, ``JobFileError`` when a setting does not fit it.
    public static func validate(_ configuration: JobConfiguration, rejectLimit: Int = 20) async throws -> JobValidation {
        let job = configuration.kind.makeJob(configuration)
        return try await CheckpointStores.withScratchStore { store in
            let signature = try await ManifestIntake(configuration: configuration, job: job).read(into: store)
            let counts = try await store.counts()
            var rejects: [Reject] = []
            try await store.forEachRejectedRow { row in
                if rejects.count < rejectLimit { rejects.append(Reject(row: row.row, key: row.key, reason: row.reason)) }
            }
            return JobValidation(
                kind: configuration.kind.rawValue, manifest: configuration.manifest, manifestSHA256: signature.manifestSHA256,
                rows: counts.rows, accepted: counts.accepted, rejected: counts.rejected, requests: counts.pendingWork,
                rejects: rejects
            )
        }
    }
}
