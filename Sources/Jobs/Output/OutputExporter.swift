/// Writes results.csv, rejects.csv and summary.json from the store, each atomically, at every exit.
/// Rows stream from the store to the file; a million rows are never held in memory.
struct OutputExporter {
    let store: any CheckpointStore
    let job: any BatchJob
    let outputFolder: String
    /// What text cells a spreadsheet would run as formulas get (`csv_formulas`).
    let formulas: CSVFormulas

    func writeAll(summary: RunSummary) async throws {
        try await writeResults()
        try await writeRejects()
        try await job.writeOutputs(store: store, outputFolder: outputFolder, formulas: formulas)
        try writeSummary(summary)
    }

    func writeResults() async throws {
        try await AtomicFile.write(path: outputFolder + "/results.csv") { (file: inout AtomicFile) async throws in
            CSVLine.append(job.resultHeader, formulas: formulas, to: &file)
            let fields = job.makeResultFormatter()
            try await store.forEachFinishedRow { row in
                CSVLine.append(fields(row), formulas: formulas, to: &file)
                try file.flushIfLarge()
                // A run that must end (its outputs' time after a stop ran out) abandons the file; the old one stays.
                try Task.checkCancellation()
            }
        }
    }

    func writeRejects() async throws {
        try await AtomicFile.write(path: outputFolder + "/rejects.csv") { (file: inout AtomicFile) async throws in
            CSVLine.append(["row", "key", "value", "reason"], formulas: formulas, to: &file)
            try await store.forEachRejectedRow { row in
                CSVLine.append([String(row.row), row.key ?? "", row.value, row.reason], formulas: formulas, to: &file)
                try file.flushIfLarge()
                try Task.checkCancellation()
            }
        }
    }

    func writeSummary(_ summary: RunSummary) throws {
        try AtomicFile.write(path: outputFolder + "/summary.json", bytes: try summary.jsonData())
    }
}
