import Foundation

/// The auditor's view of an export, rewritten atomically at every exit from the files the store recorded:
///
/// - `reports/SHA256SUMS`, in `sha256sum -c` format relative to `reports/` (images as `../images/...`), so
///   `cd reports && sha256sum -c SHA256SUMS` verifies the export with standard tools;
/// - `reports/provenance.csv`: for every file, how it was obtained.
///
/// Files in `reports/` and `images/` that no finished row recorded (a row in flight when a run was killed, or a
/// row that failed after a download) are deleted first, when their names prove they are this job's own (named
/// after one of its rows); their rows fetch them again. Other files there are left alone, and not listed. On a
/// shared campaign this sweep waits for the last worker: while another one's lease runs, an unrecorded file may be
/// its row in flight (written, not yet committed), so nothing is deleted.
struct ExportLedger {
    static let provenanceHeader = [
        "file", "transaction_id", "result_id", "kind", "requested_at", "api_path", "http_status", "api_version",
        "content_type", "bytes", "sha256",
    ]

    let outputFolder: String
    /// The folders whose files the ledger owns (`reports`, `images`).
    let folders: [String]
    let formulas: CSVFormulas

    func write(from store: any CheckpointStore) async throws {
        var recorded = Set<String>()
        try await store.forEachSavedFile { file, _, _ in recorded.insert(file.path) }
        if try await store.liveWorkersElsewhere() == 0 {
            try await removeUnrecorded(keeping: recorded, store: store)
        }

        let reports = outputFolder + "/reports"
        try await AtomicFile.write(path: reports + "/SHA256SUMS") { (file: inout AtomicFile) async throws in
            try await store.forEachSavedFile { saved, _, _ in
                let relative = saved.path.hasPrefix("reports/") ? String(saved.path.dropFirst("reports/".count)) : "../" + saved.path
                file.append("\(saved.sha256)  \(relative)\n")
                try file.flushIfLarge()
            }
        }
        try await AtomicFile.write(path: reports + "/provenance.csv") { (file: inout AtomicFile) async throws in
            CSVLine.append(Self.provenanceHeader, formulas: formulas, to: &file)
            try await store.forEachSavedFile { saved, value, _ in
                let ids = IDScanID.pair(value)
                CSVLine.append(
                    [
                        saved.path, ids.transaction, ids.result, saved.kind, saved.requestedAt, saved.apiPath, String(saved.httpStatus),
                        saved.apiVersion, saved.contentType, String(saved.bytes), saved.sha256,
                    ],
                    formulas: formulas, to: &file
                )
                try file.flushIfLarge()
            }
        }
    }

    /// Deletes the files this job wrote that no finished row recorded: regular files in its own folders (never
    /// through a link) named `<transaction>_<result>_...` after one of this job's rows. Anything else there is
    /// left alone: the runner deletes only what it can prove it wrote.
    private func removeUnrecorded(keeping recorded: Set<String>, store: any CheckpointStore) async throws {
        let ledgerFiles: Set = ["reports/SHA256SUMS", "reports/provenance.csv"]
        for folder in folders {
            guard FileStatus.ofLink(outputFolder + "/" + folder) == .directory else { continue }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: outputFolder + "/" + folder)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let relative = folder + "/" + name
                guard !recorded.contains(relative), !ledgerFiles.contains(relative) else { continue }
                let path = outputFolder + "/" + relative
                guard FileStatus.ofLink(path) == .regular else { continue }
                let parts = name.split(separator: "_", maxSplits: 2).map(String.init)
                guard parts.count == 3, IDScanID.isSafe(parts[0]), IDScanID.isSafe(parts[1]),
                    try await store.containsItem(value: IDScanID.pairValue(transaction: parts[0], result: parts[1]))
                else { continue }
                unlink(path)
            }
        }
    }
}
