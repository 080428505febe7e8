import Crypto
import Foundation
import Testing
import TestSupport

@testable import Jobs

private func savedFile(_ path: String, kind: String, sha256: String = "0", bytes: Int = 1) -> SavedFile {
    SavedFile(
        path: path, kind: kind, sha256: sha256, bytes: bytes, requestedAt: "2025-03-04T05:06:07Z",
        apiPath: "GET /id-scan/v1/transactions/t/results/r/report", httpStatus: 200, apiVersion: "1.0",
        contentType: "application/pdf"
    )
}

/// The checkpoint store's parts the ID Scan kinds add: duplicate reasons, send journaling, saved files.
@Suite struct ExportStoreTests {
    func makeStore(_ kind: StoreKind, rows: [IntakeRow], duplicateReason: DuplicateReason? = nil) async throws -> any CheckpointStore {
        try await kind.make(rows: rows, duplicateReason: duplicateReason)
    }

    func rejected(_ store: any CheckpointStore) async throws -> [RejectedRow] {
        var rows: [RejectedRow] = []
        try await store.forEachRejectedRow { rows.append($0) }
        return rows
    }

    func finished(_ store: any CheckpointStore) async throws -> [FinishedRow] {
        var rows: [FinishedRow] = []
        try await store.forEachFinishedRow { rows.append($0) }
        return rows
    }

    func savedFiles(_ store: any CheckpointStore) async throws -> [(SavedFile, String)] {
        var files: [(SavedFile, String)] = []
        try await store.forEachSavedFile { file, value, _ in files.append((file, value)) }
        return files
    }

    // MARK: duplicates

    @Test(arguments: StoreKind.allCases) func laterDuplicatesAreRejectedNamingTheFirstRow(_ kind: StoreKind) async throws {
        let store = try await makeStore(
            kind,
            rows: [
                IntakeRow(row: 1, key: "k1", value: "k1"),
                IntakeRow(row: 2, key: "k2", value: "k2"),
                IntakeRow(row: 3, key: "k1", value: "k1"),
                IntakeRow(row: 4, key: "k1", value: "k1"),
                IntakeRow(row: 5, key: "k2", value: "k2", rejectReason: "rejected by the reader"),
                IntakeRow(row: 6, key: "k4", value: "k4", rejectReason: "rejected by the reader"),
                IntakeRow(row: 7, key: "k4", value: "k4"),
                IntakeRow(row: 8, key: "k3", value: "k3"),
            ],
            duplicateReason: { value, first in "dup \(value) of row \(first)" }
        )
        #expect(
            try await rejected(store) == [
                RejectedRow(row: 3, key: "k1", value: "k1", reason: "dup k1 of row 1"),
                RejectedRow(row: 4, key: "k1", value: "k1", reason: "dup k1 of row 1"),
                RejectedRow(row: 5, key: "k2", value: "k2", reason: "rejected by the reader"),
                RejectedRow(row: 6, key: "k4", value: "k4", reason: "rejected by the reader"),
            ]
        )
        #expect(try await store.claim(limit: 100).map(\.value) == ["k1", "k2", "k4", "k3"])
        let counts = try await store.counts()
        #expect(counts.rows == 8)
        #expect(counts.rejected == 4)
        #expect(counts.pending == 4)
        #expect(counts.pendingWork == 4)
    }

    @Test(arguments: StoreKind.allCases) func withoutAReasonDuplicatesShareOneItem(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: [IntakeRow(row: 1, key: "a", value: "v"), IntakeRow(row: 2, key: "b", value: "v")])
        #expect(try await rejected(store).isEmpty)
        #expect(try await store.claim(limit: 100).map(\.value) == ["v"])
        #expect(try await store.counts().pending == 2)
    }

    @Test(arguments: StoreKind.allCases) func theCreateJobsReasonReachesTheStore(_ kind: StoreKind) async throws {
        let job = IDScanCreateJob(configuration: try JobFile.parse("kind: idscan-create\nmanifest: m.csv\n", path: "/tmp/x/job.yml"))
        let store = try await makeStore(
            kind,
            rows: [IntakeRow(row: 1, key: "C1", value: "C1"), IntakeRow(row: 2, key: "C1", value: "C1")],
            duplicateReason: job.duplicateReason
        )
        let rows = try await rejected(store)
        #expect(rows.map(\.row) == [2])
        #expect(rows.first?.reason.hasPrefix("key C1 repeats row 1;") == true, "\(rows)")
    }

    // MARK: sends

    @Test(arguments: StoreKind.allCases) func aSendLeftInFlightSettlesAsUnknown(_ kind: StoreKind) async throws {
        let firstRun = try await makeStore(kind, rows: [
            IntakeRow(row: 1, key: "a", value: "a"), IntakeRow(row: 2, key: "b", value: "b"), IntakeRow(row: 3, key: "c", value: "c"),
        ])
        let items = try await firstRun.claim(limit: 100)
        try await firstRun.markSending(items[0].id)
        try await firstRun.markSending(items[2].id)

        // While sending, the item is no longer pending, and not handed out again.
        #expect(try await firstRun.counts().pendingWork == 1)
        let store = try await StoreKind.nextRun(after: firstRun)
        #expect(try await store.claim(limit: 100).map(\.value) == ["b"])

        #expect(try await store.settleInterruptedSends(error: "the run stopped mid-send") == 2)
        #expect(try await store.settleInterruptedSends(error: "again") == 0)

        let rows = try await finished(store)
        #expect(rows.map(\.row) == [1, 3])
        #expect(rows.allSatisfy { $0.state == .unknown })
        #expect(rows.allSatisfy { $0.error == "the run stopped mid-send" })
        let counts = try await store.counts()
        #expect(counts.unknown == 2)
        #expect(counts.pending == 1)
        #expect(counts.pendingWork == 1)

        #expect(try await store.requeue([.unknown]) == 2)
        #expect(try await store.claim(limit: 100).map(\.value) == ["a", "b", "c"])
        let after = try await store.counts()
        #expect(after.unknown == 0)
        #expect(after.pendingWork == 3)
        #expect(try await finished(store).isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func markSendingOnlyAppliesToPendingItems(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: [IntakeRow(row: 1, key: "a", value: "a")])
        let item = try #require(try await store.claim(limit: 1).first)
        try await store.markSending(item.id)
        try await store.complete([WorkCompletion(id: item.id, state: .succeeded, attempts: 1, result: ["tx", "", ""], error: nil)], quota: nil)
        switch kind {
        case .postgres:
            // A shared store refuses outright: the item is not this worker's pending item (any more).
            await #expect(throws: StoreError.self) { try await store.markSending(item.id) }
        case .sqlite, .memory:
            // Another process works the same state (through a second path): stop rather than send it twice.
            await #expect {
                try await store.markSending(item.id)
            } throws: { error in
                guard case StoreError.rowTaken = error else { return false }
                return true
            }
        }
        #expect(try await store.settleInterruptedSends(error: "x") == 0)
        let rows = try await finished(store)
        #expect(rows.map(\.state) == [.succeeded])
        #expect(rows.first?.error == nil)
    }

    @Test func aWorkerWhoseItemWasTakenOverMustNotSendIt() async throws {
        let campaign = "test-" + UUID().uuidString
        let slow = try await StoreKind.openPostgres(campaign: campaign, lease: .seconds(60))
        try await slow.replaceIntake(rows: [IntakeRow(row: 1, key: "a", value: "a")], duplicateReason: nil)
        let item = try #require(try await slow.claim(limit: 1).first)
        let other = try await StoreKind.openPostgres(campaign: campaign)
        #expect(try await other.claim(limit: 1).isEmpty, "held by a live worker")
        // The slow worker's lease runs out (as when its host pauses): the other one takes the item over and sends it.
        try await slow.expireLeaseForTesting()
        let takenOver = try #require(try await other.claim(limit: 1).first)
        try await other.markSending(takenOver.id)
        await #expect(throws: StoreError.claimLost(location: slow.connections.location.description)) { try await slow.markSending(item.id) }
    }

    /// A worker whose lease ran out claims nothing more (checked in the claim's own statement), and its late answer
    /// for an item another worker took over and finished changes neither the row nor its stored file.
    @Test func aWorkerWhoseLeaseRanOutClaimsNothingAndItsLateAnswerChangesNothing() async throws {
        let campaign = "test-" + UUID().uuidString
        // A long lease, ended in the database only: the refusal comes from the claim's own statement.
        let slow = try await StoreKind.openPostgres(campaign: campaign, lease: .seconds(60))
        try await slow.replaceIntake(rows: [IntakeRow(row: 1, key: nil, value: "t1/r1"), IntakeRow(row: 2, key: nil, value: "t2/r2")], duplicateReason: nil)
        let item = try #require(try await slow.claim(limit: 1).first)
        try await slow.expireLeaseForTesting()
        await #expect(throws: StoreError.claimLost(location: slow.connections.location.description)) { try await slow.claim(limit: 1) }

        let other = try await StoreKind.openPostgres(campaign: campaign)
        let takenOver = try #require(try await other.claim(limit: 1).first)
        #expect(takenOver.id == item.id)
        let theirs = savedFile("reports/t1_r1_simple.pdf", kind: "simple", sha256: "theirs")
        try await other.complete([WorkCompletion(id: takenOver.id, state: .succeeded, attempts: 1, result: nil, error: nil, files: [theirs])], quota: nil)
        let late = savedFile("reports/t1_r1_simple.pdf", kind: "simple", sha256: "late")
        try await slow.complete([WorkCompletion(id: item.id, state: .failed, attempts: 3, result: nil, error: "late", files: [late])], quota: nil)
        #expect(try await savedFiles(other).map(\.0) == [theirs])
        #expect(try await finished(other).map(\.state) == [.succeeded])
    }

    @Test(arguments: StoreKind.allCases) func aSendingItemIsReportedUnknownBeforeItSettles(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: [IntakeRow(row: 1, key: "a", value: "a")])
        let item = try #require(try await store.claim(limit: 1).first)
        try await store.markSending(item.id)
        #expect(try await finished(store).map(\.state) == [.unknown])
        #expect(try await store.counts().unknown == 1)
    }

    // MARK: files

    @Test(arguments: StoreKind.allCases) func completedFilesAreListedInPathOrderWithTheirValue(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: [IntakeRow(row: 1, key: nil, value: "t1/r1"), IntakeRow(row: 2, key: nil, value: "t2/r2")])
        let items = try await store.claim(limit: 100)
        let b = savedFile("reports/t2_r2_extended.pdf", kind: "extended", sha256: "bb", bytes: 20)
        let a = savedFile("reports/t1_r1_extended.pdf", kind: "extended", sha256: "aa", bytes: 10)
        let image = savedFile("images/t1_r1_1_front.jpg", kind: "image", sha256: "cc", bytes: 30)
        try await store.complete(
            [
                WorkCompletion(id: items[0].id, state: .succeeded, attempts: 1, result: nil, error: nil, files: [a, image]),
                WorkCompletion(id: items[1].id, state: .succeeded, attempts: 1, result: nil, error: nil, files: [b]),
            ],
            quota: nil
        )
        let files = try await savedFiles(store)
        #expect(files.map(\.0) == [image, a, b])
        #expect(files.map(\.1) == ["t1/r1", "t1/r1", "t2/r2"])
    }

    @Test(arguments: StoreKind.allCases) func completingAnItemAgainReplacesItsFiles(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: [IntakeRow(row: 1, key: nil, value: "t1/r1"), IntakeRow(row: 2, key: nil, value: "t2/r2")])
        let items = try await store.claim(limit: 100)
        let other = savedFile("reports/t2_r2_simple.pdf", kind: "simple")
        try await store.complete(
            [
                WorkCompletion(
                    id: items[0].id, state: .succeeded, attempts: 1, result: nil, error: nil,
                    files: [savedFile("reports/t1_r1_extended.pdf", kind: "extended"), savedFile("images/t1_r1_1.jpg", kind: "image")]
                ),
                WorkCompletion(id: items[1].id, state: .succeeded, attempts: 1, result: nil, error: nil, files: [other]),
            ],
            quota: nil
        )
        // Sent again (as `--retry-failed` or a requeue does) and completed with other files.
        #expect(try await store.requeue([.succeeded]) == 2)
        let again = try await store.claim(limit: 1)
        let replacement = savedFile("reports/t1_r1_simple.pdf", kind: "simple", sha256: "new")
        try await store.complete(
            [WorkCompletion(id: again[0].id, state: .succeeded, attempts: 2, result: nil, error: nil, files: [replacement])],
            quota: nil
        )
        let files = try await savedFiles(store)
        #expect(files.map(\.0) == [replacement, other])
    }

    @Test(arguments: StoreKind.allCases) func aFreshIntakeForgetsTheFiles(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: [IntakeRow(row: 1, key: nil, value: "t1/r1")])
        let item = try #require(try await store.claim(limit: 1).first)
        try await store.complete(
            [WorkCompletion(id: item.id, state: .succeeded, attempts: 1, result: nil, error: nil, files: [savedFile("reports/x.pdf", kind: "simple")])],
            quota: nil
        )
        #expect(try await savedFiles(store).count == 1)
        try await store.replaceIntake(rows: [IntakeRow(row: 1, key: nil, value: "t1/r1")], signature: IntakeSignature(manifestSHA256: "def", job: "job"))
        #expect(try await savedFiles(store).isEmpty)
    }
}

/// SHA256SUMS and provenance.csv, checked against the files and against GNU sha256sum.
@Suite struct ExportLedgerTests {
    struct Export {
        let output: String
        let store: SQLiteCheckpointStore
        let files: [(SavedFile, String)]
    }

    func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).hexString }

    func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true
        )
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// An output folder with two finished pairs' files, plus files nobody recorded.
    func makeExport() async throws -> Export {
        let output = try TemporaryFiles.folder() + "/out"
        let store = try SQLiteCheckpointStore(path: output + "/state.sqlite")
        try await store.replaceIntake(rows: (1...3).map { IntakeRow(row: $0, key: nil, value: "t\($0)/r\($0)") })
        let items = try await store.claim(limit: 10)
        let contents: [(path: String, kind: String, value: String, text: String, query: String)] = [
            ("reports/t1_r1_extended.pdf", "extended", "t1/r1", "%PDF-1.7 extended one\n%%EOF\n", "?type=extended"),
            ("reports/t1_r1_simple.pdf", "simple", "t1/r1", "%PDF-1.7 simple one\n%%EOF\n", ""),
            ("images/t1_r1_1_front.jpg", "image", "t1/r1", "jpeg bytes", ""),
            ("reports/t2_r2_simple.pdf", "simple", "t2/r2", "%PDF-1.4 simple two\n%%EOF", ""),
        ]
        var byValue: [String: [SavedFile]] = [:]
        var files: [(SavedFile, String)] = []
        for (index, entry) in contents.enumerated() {
            let bytes = Array(entry.text.utf8)
            try write(entry.text, to: output + "/" + entry.path)
            let ids = entry.value.split(separator: "/")
            let file = SavedFile(
                path: entry.path, kind: entry.kind, sha256: sha256(bytes), bytes: bytes.count,
                requestedAt: "2025-03-04T05:06:0\(index)Z",
                apiPath: entry.kind == "image"
                    ? "GET /id-scan/v1/files/f\(index)"
                    : "GET /id-scan/v1/transactions/\(ids[0])/results/\(ids[1])/report\(entry.query)",
                httpStatus: 200, apiVersion: index == 3 ? "" : "2024-01-01",
                contentType: entry.kind == "image" ? "image/jpeg" : "application/pdf"
            )
            byValue[entry.value, default: []].append(file)
            files.append((file, entry.value))
        }
        try await store.complete(
            [
                WorkCompletion(id: items[0].id, state: .succeeded, attempts: 3, result: nil, error: nil, files: byValue["t1/r1"]!),
                WorkCompletion(id: items[1].id, state: .succeeded, attempts: 1, result: nil, error: nil, files: byValue["t2/r2"]!),
                WorkCompletion(id: items[2].id, state: .failed, attempts: 6, result: nil, error: "HTTP 503"),
            ],
            quota: nil
        )
        // Unrecorded: a row killed after its download, a failed row's image, a stale ledger.
        try write("%PDF-orphan\n%%EOF\n", to: output + "/reports/orphan.pdf")
        try write("%PDF-1.7 three\n%%EOF\n", to: output + "/reports/t3_r3_extended.pdf")
        try write("orphan image", to: output + "/images/x.jpg")
        try write("orphan image", to: output + "/images/t3_r3_1_front.jpg")
        try write("kept", to: output + "/reports/sub/inside.txt")
        try write("0000  reports/gone.pdf\n", to: output + "/reports/SHA256SUMS")
        try write("stale\n", to: output + "/reports/provenance.csv")
        return Export(output: output, store: store, files: files.sorted { $0.0.path < $1.0.path })
    }

    func ledger(_ export: Export) -> ExportLedger {
        ExportLedger(outputFolder: export.output, folders: ["reports", "images"], formulas: .escape)
    }

    /// Runs GNU `sha256sum -c SHA256SUMS` in `folder`; answers its exit status and output.
    func sha256sumCheck(in folder: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = ["-c", "--strict", "SHA256SUMS"]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Only files the job can prove it wrote are deleted: named after one of its rows, not recorded by a finished
    /// one. Anything else in its folders (an auditor's note, another campaign's report) is left alone.
    @Test func unrecordedFilesOfThisJobsRowsAreRemovedAndEverythingElseKept() async throws {
        let export = try await makeExport()
        try await ledger(export).write(from: export.store)
        for (file, _) in export.files {
            #expect(exists(export.output + "/" + file.path), "\(file.path)")
        }
        #expect(!exists(export.output + "/reports/t3_r3_extended.pdf"))
        #expect(!exists(export.output + "/images/t3_r3_1_front.jpg"))
        #expect(exists(export.output + "/reports/orphan.pdf"), "not named after a row of this job")
        #expect(exists(export.output + "/images/x.jpg"), "not named after a row of this job")
        // Folders are not files: a subfolder and what it holds are left alone.
        #expect(exists(export.output + "/reports/sub/inside.txt"))
        // The store beside the folders is not touched.
        #expect(exists(export.output + "/state.sqlite"))
        let reports = try FileManager.default.contentsOfDirectory(atPath: export.output + "/reports").filter { !$0.hasPrefix(".") }
        #expect(Set(reports) == ["SHA256SUMS", "provenance.csv", "sub", "orphan.pdf", "t1_r1_extended.pdf", "t1_r1_simple.pdf", "t2_r2_simple.pdf"])
        let images = try FileManager.default.contentsOfDirectory(atPath: export.output + "/images").filter { !$0.hasPrefix(".") }
        #expect(Set(images) == ["t1_r1_1_front.jpg", "x.jpg"])
    }

    @Test func sha256sumsListsEveryFileRelativeToReports() async throws {
        let export = try await makeExport()
        try await ledger(export).write(from: export.store)
        let expected = export.files.map { file, _ in
            file.path.hasPrefix("reports/")
                ? "\(file.sha256)  \(file.path.dropFirst("reports/".count))\n" : "\(file.sha256)  ../\(file.path)\n"
        }.joined()
        let text = try read(export.output + "/reports/SHA256SUMS")
        #expect(text == expected)
        #expect(text.hasPrefix(export.files[0].0.sha256 + "  ../images/t1_r1_1_front.jpg\n"))
        #expect(text.components(separatedBy: "\n").filter { !$0.isEmpty }.count == 4)
    }

    @Test func gnuSha256sumVerifiesTheExport() async throws {
        let export = try await makeExport()
        try await ledger(export).write(from: export.store)
        let check = try sha256sumCheck(in: export.output + "/reports")
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("../images/t1_r1_1_front.jpg: OK"), "\(check.output)")

        // And it does notice a changed file: the check above can fail.
        try write("%PDF-1.7 tampered\n%%EOF\n", to: export.output + "/reports/t2_r2_simple.pdf")
        let tampered = try sha256sumCheck(in: export.output + "/reports")
        #expect(tampered.status != 0, "\(tampered.output)")
        #expect(tampered.output.contains("t2_r2_simple.pdf: FAILED"), "\(tampered.output)")
    }

    @Test func provenanceRecordsHowEveryFileWasObtained() async throws {
        let export = try await makeExport()
        try await ledger(export).write(from: export.store)
        let lines = try read(export.output + "/reports/provenance.csv").components(separatedBy: "\n")
        #expect(lines.first == "file,transaction_id,result_id,kind,requested_at,api_path,http_status,api_version,content_type,bytes,sha256")
        #expect(ExportLedger.provenanceHeader.joined(separator: ",") == lines.first)
        #expect(lines.last == "")
        let rows = lines.dropFirst().dropLast()
        let expected = export.files.map { file, value in
            let ids = value.split(separator: "/").map(String.init)
            return [
                file.path, ids[0], ids[1], file.kind, file.requestedAt, file.apiPath, String(file.httpStatus), file.apiVersion,
                file.contentType, String(file.bytes), file.sha256,
            ].joined(separator: ",")
        }
        #expect(Array(rows) == expected)
        #expect(rows.contains("reports/t1_r1_extended.pdf,t1,r1,extended,2025-03-04T05:06:00Z,GET /id-scan/v1/transactions/t1/results/r1/report?type=extended,200,2024-01-01,application/pdf,\(Array("%PDF-1.7 extended one\n%%EOF\n".utf8).count),\(export.files[1].0.sha256)"))
        // No host or credential reaches the file.
        let text = try read(export.output + "/reports/provenance.csv")
        #expect(!text.contains("https://"))
        #expect(!text.contains("Bearer"))
    }

    @Test func theLedgerFilesAreOwnerOnly() async throws {
        let export = try await makeExport()
        try await ledger(export).write(from: export.store)
        for name in ["SHA256SUMS", "provenance.csv"] {
            var status = stat()
            let found = stat(export.output + "/reports/" + name, &status)
            #expect(found == 0)
            #expect(status.st_mode & 0o777 == 0o600, "\(name): \(String(status.st_mode & 0o777, radix: 8))")
        }
        // No temporary file is left behind.
        let hidden = try FileManager.default.contentsOfDirectory(atPath: export.output + "/reports").filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "\(hidden)")
    }

    @Test func writingTwiceGivesTheSameLedger() async throws {
        let export = try await makeExport()
        try await ledger(export).write(from: export.store)
        let sums = try read(export.output + "/reports/SHA256SUMS")
        let provenance = try read(export.output + "/reports/provenance.csv")
        try await ledger(export).write(from: export.store)
        #expect(try read(export.output + "/reports/SHA256SUMS") == sums)
        #expect(try read(export.output + "/reports/provenance.csv") == provenance)
        #expect(try sha256sumCheck(in: export.output + "/reports").status == 0)
    }

    @Test func anEmptyExportHasEmptyLedgersAndNoFiles() async throws {
        let output = try TemporaryFiles.folder()
        let store = try SQLiteCheckpointStore(path: output + "/state.sqlite")
        try await store.replaceIntake(rows: [])
        try write("%PDF-left\n%%EOF\n", to: output + "/reports/left.pdf")
        try await ExportLedger(outputFolder: output, folders: ["reports", "images"], formulas: .escape).write(from: store)
        #expect(exists(output + "/reports/left.pdf"), "not named after a row of this job: left alone")
        #expect(try read(output + "/reports/SHA256SUMS") == "")
        #expect(try read(output + "/reports/provenance.csv") == ExportLedger.provenanceHeader.joined(separator: ",") + "\n")
    }
}
