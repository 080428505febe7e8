import Foundation
import RateLimiter

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
    /// Rows a new campaign of this manifest would finish with an earlier answer (`reuse`), sending nothing for them
    /// (they are not in `requests`); nil when the job has no `reuse` or its state was not read.
    public var reused: Int?
    /// The first rejects, in row order (at most `rejectLimit`).
    public var rejects: [Reject]
    /// What `--connect` found; nil without it.
    package var connect: ConnectionCheck?

    enum CodingKeys: String, CodingKey {
        case kind, manifest, rows, accepted, rejected, requests, reused, rejects, connect
        case manifestSHA256 = "manifest_sha256"
    }

    /// Reads `configuration`'s manifest the way a run would and reports on it. With `reuse`, and `readState`, it
    /// also counts the rows a new campaign of this manifest would finish with an earlier answer from the job's
    /// state (nothing is changed there).
    ///
    /// - Throws: ``ManifestError`` when the manifest cannot be used, ``JobFileError`` when a setting does not fit it;
    ///   ``StoreError`` when the state cannot be read.
    public static func validate(
        _ configuration: JobConfiguration, rejectLimit: Int = 20, readState: Bool = true, wallClock: WallClock = .system()
    ) async throws -> JobValidation {
        let job = configuration.kind.makeJob(configuration)
        return try await CheckpointStores.withScratchStore { scratch in
            let signature = try await ManifestIntake(configuration: configuration, job: job).read(into: scratch)
            var reused: Int?
            if let reuse = configuration.reuse, readState {
                reused = try await countReuse(into: scratch, configuration, job: job, since: wallClock.epochSeconds - reuse.seconds)
            }
            let counts = try await scratch.counts()
            var rejects: [Reject] = []
            try await scratch.forEachRejectedRow { row in
                if rejects.count < rejectLimit { rejects.append(Reject(row: row.row, key: row.key, reason: row.reason)) }
            }
            return JobValidation(
                kind: configuration.kind.rawValue, manifest: configuration.manifest, manifestSHA256: signature.manifestSHA256,
                rows: counts.rows, accepted: counts.accepted, rejected: counts.rejected, requests: counts.pendingWork,
                reused: reused, rejects: rejects
            )
        }
    }

    /// Copies the answers the job's state could lend a new campaign into `scratch` and reuses them there, as a run's
    /// intake would; answers the rows so finished (0 when the job has no state, or another job made it).
    private static func countReuse(
        into scratch: SQLiteCheckpointStore, _ configuration: JobConfiguration, job: any BatchJob, since: Double
    ) async throws -> Int {
        guard try CheckpointStores.exists(configuration) else { return 0 }
        let current = configuration.provenance(rowSettings: job.intakeSettings)
        let state = try await CheckpointStores.open(configuration, access: .inspect)
        do {
            let stored = try await state.provenance()
            var copied = 0
            if stored.map({ $0.isSameJob(as: current) }) ?? true {
                // The state's own campaign is kept at the next start_over only if its results came from here.
                let includingCurrent = stored.map { $0.isSameSource(as: current) } ?? false
                var batch: [KeptAnswer] = []
                try await state.forEachReusableAnswer(source: current.sourceKey, since: since, includingCurrent: includingCurrent) { answer in
                    batch.append(answer)
                    if batch.count == 10_000 {
                        try scratch.addAnswers(batch, source: current.sourceKey)
                        (copied, batch) = (copied + batch.count, [])
                    }
                }
                try scratch.addAnswers(batch, source: current.sourceKey)
                copied += batch.count
            }
            await state.endRun()
            await state.close()
            guard copied > 0 else { return 0 }
            return try await scratch.reuseAnswers(source: current.sourceKey, since: since) { _, _ in }
        } catch {
            await state.endRun()
            await state.close()
            throw error
        }
    }
}
