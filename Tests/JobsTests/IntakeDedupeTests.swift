import Foundation
import GRDB
import Testing
import TestSupport

@testable import Jobs

/// Repeated values are found at intake by a filter plus an exact pass for what it cannot tell; these tests force
/// the exact pass (a one-block filter calls almost every value "maybe seen") and check it against a reference.
@Suite struct IntakeDedupeTests {
    /// Rows with many repeats, some rejected, in a seeded random order.
    func manifest(count: Int, seed: UInt64) -> [IntakeRow] {
        var random = seed
        func next() -> UInt64 {
            random &+= 0x9E37_79B9_7F4A_7C15
            var z = random
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (1...count).map { row in
            let value = "v\(next() % UInt64(count / 3))"
            return next() % 10 == 0
                ? IntakeRow(row: row, key: "k\(row)", value: value, rejectReason: "bad")
                : IntakeRow(row: row, key: "k\(row)", value: value, payload: "p\(row)")
        }
    }

    /// `rows` through the engine's intake stream (with a filter of `filterBytes`) into a SQLite store at `path`.
    func intake(
        _ rows: [IntakeRow],
        filterBytes: Int,
        duplicateReason: DuplicateReason? = nil,
        path: String? = nil
    ) async throws -> SQLiteCheckpointStore {
        let store = try SQLiteCheckpointStore(path: try path ?? TemporaryFiles.folder() + "/state.sqlite")
        let stream = IntakeStream.start(filterBytes: filterBytes) { emit in
            for row in rows { try emit(row) }
            return IntakeSignature(manifestSHA256: "abc", job: "job")
        }
        _ = try await store.replaceIntake(from: stream, duplicateReason: duplicateReason)
        return store
    }

    @Test(arguments: [64, 16 << 20])
    func everyValueBecomesOneItemAtItsFirstAcceptedRow(filterBytes: Int) async throws {
        let rows = manifest(count: 3_000, seed: 7)
        let store = try await intake(rows, filterBytes: filterBytes)
        var firstRow: [String: Int] = [:]
        for row in rows where row.rejectReason == nil && firstRow[row.value] == nil { firstRow[row.value] = row.row }
        let items = try await store.claim(limit: 10_000)
        #expect(items.map(\.id) == firstRow.values.sorted().map(Int64.init))
        #expect(items.allSatisfy { firstRow[$0.value] == Int($0.id) && $0.payload == "p\($0.id)" })
        let counts = try await store.counts()
        #expect(counts.rows == 3_000)
        #expect(counts.rejected == rows.count { $0.rejectReason != nil })
        #expect(counts.pending == counts.accepted)
        #expect(counts.pendingWork == firstRow.count)

        // Every accepted row reports its item's outcome, in row order.
        try await store.complete(items.map { WorkCompletion(id: $0.id, state: .succeeded, attempts: 1, result: [$0.value], error: nil) }, quota: nil)
        var finished: [FinishedRow] = []
        try await store.forEachFinishedRow { finished.append($0) }
        let accepted = rows.filter { $0.rejectReason == nil }
        #expect(finished.map(\.row) == accepted.map(\.row))
        #expect(finished.map(\.key) == accepted.map(\.key))
        #expect(finished.allSatisfy { $0.result == [$0.value] && $0.value == rows[$0.row - 1].value })
    }

    @Test(arguments: [64, 16 << 20])
    func withADuplicateReasonRepeatsAreRejectedNamingTheFirstRow(filterBytes: Int) async throws {
        let rows = manifest(count: 2_000, seed: 11)
        let store = try await intake(rows, filterBytes: filterBytes) { value, first in "\(value) repeats row \(first)" }
        var firstRow: [String: Int] = [:]
        var expected: [RejectedRow] = []
        for row in rows {
            if let reason = row.rejectReason {
                expected.append(RejectedRow(row: row.row, key: row.key, value: row.value, reason: reason))
            } else if let first = firstRow[row.value] {
                expected.append(RejectedRow(row: row.row, key: row.key, value: row.value, reason: "\(row.value) repeats row \(first)"))
            } else {
                firstRow[row.value] = row.row
            }
        }
        var rejected: [RejectedRow] = []
        try await store.forEachRejectedRow { rejected.append($0) }
        #expect(rejected == expected)
        let counts = try await store.counts()
        #expect(counts.accepted == firstRow.count)
        #expect(counts.pendingWork == firstRow.count)
    }

    @Test func countsKeptByTheTriggerMatchARecount() async throws {
        let rows = manifest(count: 1_500, seed: 3)
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        let store = try await intake(rows, filterBytes: 64, path: path)
        let items = try await store.claim(limit: 10_000)
        let states: [WorkState] = [.succeeded, .failed, .unknown, .pending]
        try await store.complete(
            items.enumerated().compactMap { index, item in
                let state = states[index % states.count]
                return state == .pending ? nil : WorkCompletion(id: item.id, state: state, attempts: 1, result: nil, error: "e")
            },
            quota: nil
        )
        _ = try await store.requeue([.failed])
        try await store.markSending(items[3].id)
        let counts = try await store.counts()

        var recount = StateCounts()
        let accepted = rows.filter { $0.rejectReason == nil }
        let stateOfValue = Dictionary(uniqueKeysWithValues: try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT value, state FROM work").map { ($0[0] as String, $0[1] as Int) }
        })
        recount.rows = rows.count
        recount.rejected = rows.count - accepted.count
        for row in accepted {
            switch WorkState(rawValue: stateOfValue[row.value]!)! {
            case .succeeded: recount.succeeded += 1
            case .failed: recount.failed += 1
            case .notFound: recount.notFound += 1
            case .unknown, .sending: recount.unknown += 1
            case .pending: recount.pending += 1
            }
        }
        recount.pendingWork = stateOfValue.values.count { $0 == 0 }
        #expect(counts == recount)
        #expect(counts.unknown > 0 && counts.succeeded > 0 && counts.failed == 0)
    }

    @Test func theFilterNeverForgetsAValue() {
        let filter = ValueFilter(bytes: 4096)
        let values = (0..<20_000).map { "316\($0)" }
        for value in values { _ = filter.insert(value) }
        #expect(values.allSatisfy { filter.insert($0) })
        let roomy = ValueFilter()
        #expect((0..<10_000).filter { roomy.insert("316\($0)") }.isEmpty)
    }

    @Test func aStateFromTheEarlierLayoutIsConvertedWithItsProgress() async throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        // The layout before work items carried their first row (migrations v1 and v2-files only).
        let old = try DatabaseQueue(path: path)
        try await old.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1'), ('v2-files');
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE rows (row INTEGER PRIMARY KEY, key TEXT, value TEXT NOT NULL, payload TEXT, reject_reason TEXT);
                    CREATE TABLE work (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE, payload TEXT,
                        state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT, updated_at REAL);
                    CREATE INDEX work_by_state ON work (state, id);
                    CREATE TABLE quota (limiter TEXT PRIMARY KEY, quota_limit INTEGER NOT NULL, used INTEGER NOT NULL,
                        window_seconds REAL, reset_epoch REAL, server_clock_offset REAL NOT NULL);
                    CREATE TABLE files (path TEXT PRIMARY KEY, work_id INTEGER NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL,
                        bytes INTEGER NOT NULL, requested_at TEXT NOT NULL, api_path TEXT NOT NULL, http_status INTEGER NOT NULL,
                        api_version TEXT NOT NULL, content_type TEXT NOT NULL);
                    INSERT INTO meta VALUES ('manifest_sha256', 'abc'), ('job', 'job');
                    INSERT INTO rows VALUES (1, 'a', 'x', 'px', NULL), (2, 'b', 'bad', NULL, 'wrong'), (3, 'c', 'y', 'py', NULL),
                        (4, 'd', 'x', 'px', NULL), (5, 'e', 'z', 'pz', NULL);
                    INSERT INTO work (id, value, payload, state, attempts, result, error) VALUES
                        (1, 'x', 'px', 1, 2, 'r1', NULL), (2, 'y', 'py', 2, 1, NULL, 'HTTP 404'), (3, 'z', 'pz', 0, 0, NULL, NULL);
                    INSERT INTO files VALUES ('reports/y.pdf', 2, 'simple', 'h', 10, 't', 'GET /y', 200, '', 'application/pdf');
                    """
            )
        }
        try old.close()

        let store = try SQLiteCheckpointStore(path: path)
        #expect(try await store.intakeSignature() == IntakeSignature(manifestSHA256: "abc", job: "job"))
        let counts = try await store.counts()
        let figures: [Int] = [counts.rows, counts.rejected, counts.succeeded, counts.failed, counts.pending, counts.pendingWork]
        #expect(figures == [5, 1, 2, 1, 1, 1])
        #expect(try await store.claim(limit: 10).map(\.id) == [5])
        var finished: [FinishedRow] = []
        try await store.forEachFinishedRow { finished.append($0) }
        #expect(finished.map(\.row) == [1, 3, 4])
        #expect(finished.map(\.key) == ["a", "c", "d"])
        #expect(finished[2].result == ["r1"] && finished[2].attempts == 2)
        var rejected: [RejectedRow] = []
        try await store.forEachRejectedRow { rejected.append($0) }
        #expect(rejected == [RejectedRow(row: 2, key: "b", value: "bad", reason: "wrong")])
        var files: [(String, String)] = []
        try await store.forEachSavedFile { file, value, _ in files.append((file.path, value)) }
        #expect(files.map(\.0) == ["reports/y.pdf"] && files.map(\.1) == ["y"])
    }
}

/// States written by the previous version keep each job's fields joined with U+001F, as this one does: they
/// resume and export exactly as before.
@Suite struct TypedResultsMigrationTests {
    @Test func aResultOfSeveralFieldsFromThePreviousVersionIsExportedAsBefore() async throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        do {
            let store = try SQLiteCheckpointStore(path: path)
            try await store.replaceIntake(rows: [
                IntakeRow(row: 1, key: "A", value: "31612345678"), IntakeRow(row: 2, key: "B", value: "31687654321"),
            ])
            let items = try await store.claim(limit: 10)
            try await store.complete(
                [
                    WorkCompletion(id: items[0].id, state: .succeeded, attempts: 2, result: ["x"], error: nil),
                    WorkCompletion(id: items[1].id, state: .failed, attempts: 6, result: nil, error: "HTTP 503"),
                ],
                quota: nil
            )
        }
        // As the previous version wrote them: fields joined with U+001F, failed rows with an empty result.
        let old = try DatabaseQueue(path: path)
        try await old.write { db in
            try db.execute(sql: "UPDATE work SET result = ? WHERE id = 1", arguments: ["KPN B.V.\u{1F}NL\u{1F}204\u{1F}08\u{1F}AVAILABLE"])
            try db.execute(sql: "UPDATE work SET result = '' WHERE id = 2")
        }
        try old.close()

        let store = try SQLiteCheckpointStore(path: path)
        let job = NumberVerifyJob(configuration: JobConfiguration(kind: .numberVerify, jobFile: "/j/nv.yml", manifest: "/j/n.csv", output: "/j/out"))
        let format = job.makeResultFormatter()
        var lines: [[String]] = []
        try await store.forEachFinishedRow { lines.append(format($0)) }
        #expect(lines == [
            ["1", "A", "31612345678", "ok", "KPN B.V.", "NL", "204", "08", "AVAILABLE", "2", ""],
            ["2", "B", "31687654321", "failed", "", "", "", "", "", "6", "HTTP 503"],
        ])
    }
}
