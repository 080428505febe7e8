import Crypto
import Foundation
public import Logging

/// `batch-runner export`: writes a job's complete output folder (results.csv, rejects.csv, every saved file,
/// the job's own files such as SHA256SUMS and provenance.csv, and summary.json) from its state, anywhere, at any
/// time, without sending a request.
///
/// A PostgreSQL store keeps every saved file's bytes, so the export needs nothing but the store. A SQLite state
/// keeps their checksums, and the bytes are read from the job's output folder. Either way every file is checked
/// against the checksum recorded when it was fetched before it is written.
public enum JobExport {
    /// What an export wrote.
    public struct Outcome: Sendable {
        public var folder: String
        public var rows: Int
        public var files: Int
    }

    /// Exports `configuration`'s job into `folder`.
    ///
    /// - Throws: ``StoreError`` (the state cannot be opened), ``FileSystemError`` (a file cannot be written, or a
    ///   saved file is missing or no longer matches its checksum), ``JobError`` (the state holds no intake).
    public static func write(
        _ configuration: JobConfiguration, to folder: String, wallClock: WallClock = .system(), logger: Logger = Logger(label: "batch-runner.export")
    ) async throws -> Outcome {
        guard try CheckpointStores.exists(configuration) else {
            throw JobError(.ioError, "There is no state at \(configuration.statePath) to export; run the job first.")
        }
        let store = try await CheckpointStores.open(configuration, access: .inspect)
        do {
            let outcome = try await write(store: store, configuration: configuration, to: folder, wallClock: wallClock, logger: logger)
            await store.endRun()
            await store.close()
            return outcome
        } catch {
            await store.endRun()
            await store.close()
            throw error
        }
    }

    private static func write(
        store: any CheckpointStore, configuration: JobConfiguration, to folder: String, wallClock: WallClock, logger: Logger
    ) async throws -> Outcome {
        guard let signature = try await store.intakeSignature() else {
            throw JobError(.ioError, "The state \(configuration.statePath) holds no finished intake (campaign \(configuration.campaignName)); nothing to export.")
        }
        let job = configuration.kind.makeJob(configuration)
        // Every stored path is checked before anything is written: a state is not necessarily trustworthy.
        var saved: [SavedFile] = []
        try await store.forEachSavedFile { file, _, row in
            guard SavedFilePath.isSafe(file.path) else { throw SavedFilePath.refusal(file.path, row: row, state: configuration.statePath) }
            saved.append(file)
        }
        // The checks a run makes of its output folder: its qr/, reports/ and images/ must be real folders, not
        // links that would carry the files, SHA256SUMS and provenance.csv elsewhere.
        let folder = try OutputFolder.prepare(folder, subfolders: job.fileFolders, logger: logger).path
        for file in saved {
            let bytes = try await contents(of: file, store: store, outputFolder: configuration.output)
            try AtomicFile.write(path: folder + "/" + file.path, bytes: bytes)
        }
        let counts = try await store.counts()
        let exporter = OutputExporter(store: store, job: job, outputFolder: folder, formulas: configuration.csvFormulas)
        let now = wallClock.iso8601
        let exitCode = counts.pending > 0 ? JobError.Code.stoppedResumable.exitCode : counts.failed + counts.unknown > 0 ? ExitStatus.someRowsFailed : ExitStatus.success
        var summary = RunSummary(
            kind: configuration.kind.rawValue, counts: counts, requests: 0, throttled: 0, retries: 0, durationSeconds: 0, exitCode: exitCode,
            stopReason: counts.pending > 0 ? "exported while \(counts.pending) rows are still pending" : nil,
            apiVersion: nil, sunset: nil, startedAt: now, finishedAt: now, manifestSHA256: signature.manifestSHA256
        )
        summary.record(try await store.provenance() ?? configuration.provenance(rowSettings: job.intakeSettings))
        try await exporter.writeAll(summary: summary)
        return Outcome(folder: folder, rows: counts.rows, files: saved.count)
    }

    /// A saved file's bytes, from the store or the job's output folder, checked against its recorded SHA-256.
    private static func contents(of file: SavedFile, store: any CheckpointStore, outputFolder: String) async throws -> [UInt8] {
        let bytes: [UInt8]
        if let stored = try await store.savedFileContents(file.path) {
            bytes = stored
        } else if let data = FileManager.default.contents(atPath: outputFolder + "/" + file.path) {
            bytes = Array(data)
        } else {
            throw FileSystemError(path: outputFolder + "/" + file.path, "\(outputFolder)/\(file.path) is recorded in the state but missing; run the job again with --retry-failed after restoring it, or re-fetch it with --restart.")
        }
        guard SHA256.hash(data: bytes).hexString == file.sha256 else {
            throw FileSystemError(path: file.path, "\(file.path) no longer matches the SHA-256 recorded when it was fetched; it was changed after the run. Restore it before exporting.")
        }
        return bytes
    }
}
