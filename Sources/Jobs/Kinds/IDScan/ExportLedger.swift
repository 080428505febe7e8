import Foundation

/// The auditor's view of an export, rewritten atomically at every exit from the files the store recorded:
///
/// - `reports/SHA256SUMS`, in `sha256sum -c` format relative to `reports/` (images as `../images/...`), so
///   `cd reports && sha256sum -c SHA256SUMS` verifies the export with standard tools;
/// - `reports/provenance.csv`: for every file, how it was obtained.
///
/// Files in `reports/` and `images/` that no finished row recorded (a row in flight when a run was killed, or a
/// row that failed after a download) are deleted first: their rows fetch them again, and the folders then hold
/// exactly the files SHA256SUMS lists. These folders belong to batch-runner; keep nothing else in them.
struct ExportLedger {
    static let provenanceHeader = [
        "file", "transaction_id", "result_id", "kind", "requested_at", "api_path", "http_status", "api_version",
        "content_type", "bytes", "sha256",
    ]

    let outputFolder: String
    /// The folders whose files the ledger owns (`reports`, `images`).
    let folders: [String]

    func write(from store: any CheckpointStore) async throws {
        var recorded = Set<String>()
        try await store.forEachSavedFile { file, _ in recorded.insert(file.path) }
        removeUnrecorded(keeping: recorded)

        let reports = outputFolder + "/reports"
        try await AtomicFile.write(path: reports + "/SHA256SUMS") { (file: inout AtomicFile) async throws in
            try await store.forEachSavedFile { saved, _ in
                let relative = saved.path.hasPrefix("reports/") ? String(saved.path.dropFirst("reports/".count)) : "../" + saved.path
                file.append("\(saved.sha256)  \(relative)\n")
                try file.flushIfLarge()
            }
        }
        try await AtomicFile.write(path: reports + "/provenance.csv") { (file: inout AtomicFile) async throws in
            CSVLine.append(Self.provenanceHeader, to: &file)
            try await store.forEachSavedFile { saved, value in
                let ids = IDScanID.pair(value)
                CSVLine.append(
                    [
                        saved.path, ids.transaction, ids.result, saved.kind, saved.requestedAt, saved.apiPath, String(saved.httpStatus),
                        saved.apiVersion, saved.contentType, String(saved.bytes), saved.sha256,
                    ],
                    to: &file
                )
                try file.flushIfLarge()
            }
        }
    }

    private func removeUnrecorded(keeping recorded: Set<String>) {
        let ledgerFiles: Set = ["reports/SHA256SUMS", "reports/provenance.csv"]
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: outputFolder + "/" + folder)) ?? []
            for name in names where !name.hasPrefix(".") {
                let relative = folder + "/" + name
                guard !recorded.contains(relative), !ledgerFiles.contains(relative) else { continue }
                var status = stat()
                let path = outputFolder + "/" + relative
                if lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG { unlink(path) }
            }
        }
    }
}
