import Crypto
import Foundation
import Logging
import RateLimiter

/// The engine's side of the intake: reads a job's manifest through the job's row reader and hands the rows to
/// the store, or checks that the store's intake was made from this very manifest and job.
struct ManifestIntake {
    let configuration: JobConfiguration
    let job: any BatchJob
    /// Memory of the repeat filter (see ``ValueFilter``); tests make it tiny.
    var filterBytes = 16 << 20
    /// What names an archive of a previous campaign's outputs (`on_new_manifest: start_over`).
    var wallClock = WallClock.system()

    /// Reads a fresh intake into `store` (always with `restart`), or resumes the one it holds after checking that
    /// neither the manifest nor the job's row settings changed. Answers the manifest's SHA-256.
    ///
    /// On a shared store this runs under the campaign's intake lock: the first worker reads the manifest, the
    /// others wait for that intake to commit and then join it. A worker without the manifest file joins the stored
    /// intake (a pod need not carry the manifest); `--restart` is refused while other live workers hold the campaign.
    ///
    /// - Throws: ``ManifestError`` when the manifest changed or cannot be used; ``StoreError/campaignBusy(campaign:workers:)``.
    func prepare(store: any CheckpointStore, restart: Bool, logger: Logger) async throws -> String {
        try await store.withIntakeLock {
            if restart, store.isShared {
                let others = try await store.workers().filter { $0.isLive && !$0.hasEnded }.count - 1
                if others > 0 { throw StoreError.campaignBusy(campaign: configuration.campaignName, workers: others) }
            }
            let current = configuration.provenance(rowSettings: job.intakeSettings)
            if !restart, let signature = try await store.intakeSignature() {
                let stored = try await store.provenance()
                if let stored {
                    try check(stored, against: current)
                } else {
                    if case .changed(let changes) = job.intakeSettings.compared(with: signature.job) { throw settingsChanged(changes) }
                    logger.notice("this state was made before batch-runner recorded where results come from: the origin of its results is unknown; from now on it is \(current.source)")
                }
                let sha256: String
                if store.isShared, !FileManager.default.fileExists(atPath: configuration.manifest) {
                    logger.info("the manifest file is not here; joining the campaign's stored intake", metadata: ["campaign": "\(configuration.campaignName)"])
                    sha256 = signature.manifestSHA256
                } else {
                    sha256 = try ManifestReader(path: configuration.manifest, delimiter: configuration.delimiter).sha256()
                    guard sha256 == signature.manifestSHA256 else {
                        guard configuration.onNewManifest == .startOver else {
                            throw ManifestError("Manifest \(configuration.manifest) changed since the state \(stateName) was made from it. Restore the original file to resume, or run with --restart to start over with this one (the earlier progress is discarded). A job that gets a new file every night sets on_new_manifest: start_over.")
                        }
                        return try await startOver(store: store, provenance: current, logger: logger)
                    }
                    logger.info(store.isShared ? "joining the campaign's stored intake" : "resuming from the saved state")
                }
                // Another worker started this campaign over: this worker's outputs are the previous campaign's.
                if configuration.onNewManifest == .startOver, let earlier = outputsManifest, earlier != signature.manifestSHA256 {
                    try archiveOutputs(logger: logger)
                }
                if stored != current { try await store.recordProvenance(current) }
                return sha256
            }
            let signature = try await read(into: store)
            try await store.recordProvenance(current)
            try await reuseAnswers(store: store, source: current, logger: logger)
            let rows = try await store.counts().rows
            logger.info("manifest read", metadata: ["rows.total": "\(rows)"])
            return signature.manifestSHA256
        }
    }

    /// A recurring job's new manifest (`on_new_manifest: start_over`): once the state's campaign is finished, its
    /// outputs move to `<output>/history/<UTC time>/` and a new campaign is read from the new manifest.
    ///
    /// - Throws: ``ManifestError`` (65) when the previous campaign is not finished, naming what is left.
    private func startOver(store: any CheckpointStore, provenance: StateProvenance, logger: Logger) async throws -> String {
        let counts = try await store.counts()
        guard counts.pending == 0, counts.unknown == 0 else {
            let left = [(counts.pending, "pending"), (counts.unknown, "unknown (check the ID Scan portal, then --retry-unknown)")]
                .filter { $0.0 > 0 }.map { "\($0.0) rows \($0.1)" }.joined(separator: " and ")
            throw ManifestError(
                "Manifest \(configuration.manifest) differs from the one the state \(stateName) was made from, and that campaign is not finished: \(left). on_new_manifest: start_over starts a new campaign only after the previous one is finished; run with the previous manifest until it is, or with --restart to discard it."
            )
        }
        try await store.keepAnswers(source: provenance.sourceKey, since: configuration.reuse.map { wallClock.epochSeconds - $0.seconds }) { file in
            // A saved file is kept as the output folder holds it, if it is still the one the answer saved.
            guard SavedFilePath.isSafe(file.path), let data = FileManager.default.contents(atPath: configuration.output + "/" + file.path),
                SHA256.hash(data: data).hexString == file.sha256
            else { return nil }
            return Array(data)
        }
        try archiveOutputs(logger: logger)
        let signature = try await read(into: store)
        try await store.recordProvenance(provenance)
        try await reuseAnswers(store: store, source: provenance, logger: logger)
        let rows = try await store.counts().rows
        logger.notice("a new campaign started from the new manifest (on_new_manifest: start_over)", metadata: ["rows.total": "\(rows)"])
        return signature.manifestSHA256
    }

    /// `reuse`: finishes the fresh intake's items that an earlier campaign answered from the same source recently
    /// enough, with that answer; they send no request.
    private func reuseAnswers(store: any CheckpointStore, source: StateProvenance, logger: Logger) async throws {
        guard let reuse = configuration.reuse else { return }
        let since = wallClock.epochSeconds - reuse.seconds
        let output = configuration.output
        let rows = try await store.reuseAnswers(source: source.sourceKey, since: since) { file, content in
            guard SavedFilePath.isSafe(file.path), SHA256.hash(data: content).hexString == file.sha256 else {
                throw StoreError.stateDamaged(state: stateName, problem: "holds a kept answer's file \(file.path) whose bytes do not match its checksum")
            }
            try AtomicFile.write(path: output + "/" + file.path, bytes: content)
        }
        if rows > 0 {
            logger.notice("rows answered by an earlier campaign within `reuse` are not sent again", metadata: ["rows.reused": "\(rows)"])
        }
    }

    /// The manifest SHA-256 of the outputs in the output folder (its summary.json), when there are any.
    private var outputsManifest: String? {
        guard let data = FileManager.default.contents(atPath: configuration.output + "/summary.json"),
            let summary = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return summary["manifest_sha256"] as? String
    }

    /// Moves the previous campaign's outputs into a new archive, and prunes the oldest beyond `history_keep`.
    private func archiveOutputs(logger: Logger) throws {
        let history = OutputHistory(outputFolder: configuration.output, subfolders: job.fileFolders)
        if let archive = try history.archive(at: Date(timeIntervalSince1970: wallClock.epochSeconds)) {
            logger.notice("the previous campaign's outputs were moved to \(archive)")
        }
        // The saved files' folders moved with the archive: the new campaign gets empty ones, checked as at start.
        _ = try OutputFolder.prepare(configuration.output, subfolders: job.fileFolders, logger: logger)
        let pruned = history.prune(keeping: configuration.historyKeep)
        if pruned > 0 { logger.info("removed the oldest archives beyond history_keep", metadata: ["history.removed": "\(pruned)"]) }
    }

    /// The settings that changed, named where the state's record says which (`title: was "a", now "b"`).
    private func settingsChanged(_ changes: [String]) -> ManifestError {
        ManifestError("The job's kind or column settings changed since the state \(stateName) was made\(Self.naming(changes)). Undo the change to resume, or run with --restart to start over.")
    }

    /// ` (title: was "a", now "b"; ...)`, or nothing when the state's record does not say which settings changed.
    private static func naming(_ changes: [String]) -> String {
        changes.isEmpty ? "" : " (\(changes.joined(separator: "; ")))"
    }

    /// Refuses a state another job made, or whose results came from elsewhere than this job sends to: they would
    /// pass for this job's results. Never advises `--restart` for another job's state: it would wipe that job's progress.
    ///
    /// - Throws: ``ManifestError`` (65) saying whose state it is, or where its results came from.
    func check(_ stored: StateProvenance, against current: StateProvenance) throws(ManifestError) {
        if !stored.isSameJob(as: current) {
            let changes = if case .changed(let changes) = stored.settingsChanges(from: current) { changes } else { [String]() }
            if stored.kind == current.kind, stored.jobFile == current.jobFile { throw settingsChanged(changes) }
            throw ManifestError(
                "The state \(stateName) belongs to the \(stored.kind) job \(stored.jobFile) (manifest \(stored.manifest)), not to this \(current.kind) job \(current.jobFile)\(stored.kind == current.kind ? ", whose columns or options differ\(Self.naming(changes))" : ""). Point `state` (or --state) at this job's own state; that one is left as it is."
            )
        }
        if !stored.isSameSource(as: current) {
            throw ManifestError(
                "The state \(stateName) holds results from \(stored.source); this job sends to \(current.source), and those results would pass for its own. Use another state (`state`, or --state), or run with --restart to discard them. Nothing was sent."
            )
        }
    }

    /// The state as messages name it: a SQLite path, or a PostgreSQL campaign (never a password).
    private var stateName: String {
        guard case .postgres(let location)? = try? StoreLocation(configuration.statePath) else { return configuration.statePath }
        return "\(location) (campaign \(configuration.campaignName))"
    }

    /// Reads the whole manifest into `store` as a fresh intake; answers its signature.
    func read(into store: any CheckpointStore) async throws -> IntakeSignature {
        let reader = ManifestReader(path: configuration.manifest, delimiter: configuration.delimiter)
        let (manifestPath, job) = (configuration.manifest, self.job)
        let intakeSettings = job.intakeSettings
        let stream = IntakeStream.start(filterBytes: filterBytes) { emit in
            var header: [String] = []
            var rowReader: RowReader?
            let scan = try reader.read(
                onHeader: { names in
                    header = names
                    rowReader = try job.rowReader(header: ManifestHeader(names: names, manifestPath: manifestPath))
                },
                onRow: { row, record in
                    // onHeader ran first, or the reader threw.
                    let rowReader = rowReader!
                    switch CellDecoder.decode(record, header: header, keyColumn: rowReader.keyColumn) {
                    case .success(let cells): try emit(rowReader.read(row, cells))
                    case .failure(let problem): try emit(IntakeRow(row: row, key: problem.key, value: problem.value, rejectReason: problem.reason))
                    }
                }
            )
            return IntakeSignature(manifestSHA256: scan.sha256, job: intakeSettings.stored)
        }
        do {
            return try await store.replaceIntake(from: stream, duplicateReason: job.duplicateReason)
        } catch {
            await stream.cancel()
            throw error
        }
    }
}
