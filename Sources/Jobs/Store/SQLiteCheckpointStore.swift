import Foundation
import GRDB

/// The checkpoint store in one SQLite file (WAL, `synchronous=NORMAL`, mode 0600), through GRDB.
///
/// WAL with `synchronous=NORMAL` keeps every committed transaction across a killed process; only a power loss can
/// take back the last commits, which then are simply done again.
package final class SQLiteCheckpointStore: CheckpointStore {
    private let queue: DatabaseQueue
    private let path: String
    /// Separates result fields inside one column (the ASCII unit separator never occurs in results).
    static let fieldSeparator: Character = "\u{1F}"

    /// Memory of the filter that finds repeated values at intake (see ``ValueFilter``).
    private let intakeFilterBytes: Int

    /// Opens (creating when needed) the store at `path`; `":memory:"` for a private in-memory store.
    /// `intakeFilterBytes` exists for tests, which make it tiny to exercise the exact path.
    package init(path: String, intakeFilterBytes: Int = 16 << 20) throws {
        self.intakeFilterBytes = intakeFilterBytes
        self.path = path
        if path != ":memory:" {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                fchmod(descriptor, 0o600)
                close(descriptor)
            }
        }
        var configuration = Configuration()
        // `status` may open the state while a run's intake holds it (rollback journal, see replaceIntake): it
        // waits for the intake to commit rather than failing at once.
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        queue = path == ":memory:" ? try DatabaseQueue(configuration: configuration) : try DatabaseQueue(path: path, configuration: configuration)
        if path != ":memory:" {
            try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        }
        try Self.migrator.migrate(queue)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE rows (
                        row INTEGER PRIMARY KEY,
                        key TEXT,
                        value TEXT NOT NULL,
                        payload TEXT,
                        reject_reason TEXT
                    );
                    CREATE TABLE work (
                        id INTEGER PRIMARY KEY,
                        value TEXT NOT NULL UNIQUE,
                        payload TEXT,
                        state INTEGER NOT NULL DEFAULT 0,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT,
                        updated_at REAL
                    );
                    CREATE INDEX work_by_state ON work (state, id);
                    CREATE TABLE quota (
                        limiter TEXT PRIMARY KEY,
                        quota_limit INTEGER NOT NULL,
                        used INTEGER NOT NULL,
                        window_seconds REAL,
                        reset_epoch REAL,
                        server_clock_offset REAL NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v2-files") { db in
            try db.execute(
                sql: """
                    CREATE TABLE files (
                        path TEXT PRIMARY KEY,
                        work_id INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        requested_at TEXT NOT NULL,
                        api_path TEXT NOT NULL,
                        http_status INTEGER NOT NULL,
                        api_version TEXT NOT NULL,
                        content_type TEXT NOT NULL
                    );
                    CREATE INDEX files_by_work ON files (work_id);
                    """
            )
        }
        migrator.registerMigration("v3-work-carries-first-row") { db in
            // One write per row at intake: the first row of every value is its work item's row; only rejected
            // rows and rows sharing an earlier row's item go to `extra_rows`. Row counts by state are kept by a
            // trigger instead of being counted by a join at every start and exit.
            try db.execute(
                sql: """
                    CREATE TABLE work_v3 (
                        id INTEGER PRIMARY KEY,
                        key TEXT,
                        value TEXT NOT NULL,
                        payload TEXT,
                        shared_rows INTEGER NOT NULL DEFAULT 0,
                        state INTEGER NOT NULL DEFAULT 0,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT,
                        updated_at REAL
                    );
                    INSERT INTO work_v3 (id, key, value, payload, shared_rows, state, attempts, result, error, updated_at)
                        SELECT first.row, r.key, w.value, w.payload, first.n - 1, w.state, w.attempts, w.result, w.error, w.updated_at
                        FROM (SELECT value, min(row) AS row, count(*) AS n FROM rows WHERE reject_reason IS NULL GROUP BY value) first
                        JOIN rows r ON r.row = first.row
                        JOIN work w ON w.value = first.value;
                    CREATE TABLE extra_rows (
                        row INTEGER PRIMARY KEY,
                        key TEXT,
                        value TEXT NOT NULL,
                        reject_reason TEXT,
                        work_id INTEGER
                    );
                    INSERT INTO extra_rows (row, key, value, reject_reason, work_id)
                        SELECT r.row, r.key, r.value, r.reject_reason, CASE WHEN r.reject_reason IS NULL THEN w.id END
                        FROM rows r LEFT JOIN work_v3 w ON w.value = r.value
                        WHERE r.reject_reason IS NOT NULL OR w.id != r.row;
                    UPDATE files SET work_id = (
                        SELECT n.id FROM work o JOIN work_v3 n ON n.value = o.value WHERE o.id = files.work_id
                    );
                    DELETE FROM meta WHERE key IN ('rows', 'rejected');
                    INSERT INTO meta (key, value)
                        SELECT 'rows', count(*) FROM rows UNION ALL
                        SELECT 'rejected', count(*) FROM rows WHERE reject_reason IS NOT NULL;
                    DROP TABLE rows;
                    DROP TABLE work;
                    ALTER TABLE work_v3 RENAME TO work;
                    CREATE INDEX work_finished ON work (id) WHERE state != 0;
                    CREATE TABLE state_counts (
                        state INTEGER PRIMARY KEY,
                        rows INTEGER NOT NULL DEFAULT 0,
                        items INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO state_counts (state, rows, items)
                        SELECT s.state, coalesce(sum(1 + w.shared_rows), 0), count(w.id)
                        FROM (SELECT 0 AS state UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) s
                        LEFT JOIN work w ON w.state = s.state GROUP BY s.state;
                    CREATE TRIGGER work_state_counts AFTER UPDATE OF state ON work WHEN OLD.state != NEW.state BEGIN
                        UPDATE state_counts SET rows = rows - 1 - OLD.shared_rows, items = items - 1 WHERE state = OLD.state;
                        UPDATE state_counts SET rows = rows + 1 + NEW.shared_rows, items = items + 1 WHERE state = NEW.state;
                    END;
                    """
            )
        }
        return migrator
    }

    package func intakeSignature() async throws -> IntakeSignature? {
        try await queue.read { db in
            let values = try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key IN ('manifest_sha256', 'job')")
            var map: [String: String] = [:]
            for row in values { map[row[0]] = row[1] }
            guard let sha = map["manifest_sha256"], let job = map["job"] else { return nil }
            return IntakeSignature(manifestSHA256: sha, job: job)
        }
    }

    package func replaceIntake(
        duplicateReason: DuplicateReason?,
        produce: @escaping @Sendable (_ emit: (IntakeRow) throws -> Void) throws -> IntakeSignature
    ) async throws {
        try await queue.writeWithoutTransaction { db in
            // A rollback journal for this one large transaction: WAL would write every new page twice (into the
            // log, then into the database at the checkpoint). It is just as atomic; WAL comes back right after.
            // If another process reads the state now (`status`), the switch is refused and WAL simply stays.
            let isFile = !db.configuration.readonly && path != ":memory:"
            if isFile { _ = try? String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE") }
            defer { if isFile { _ = try? String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") } }
            try db.inTransaction {
                try db.execute(
                    sql: """
                        DELETE FROM meta; DELETE FROM work; DELETE FROM extra_rows; DELETE FROM quota; DELETE FROM files;
                        UPDATE state_counts SET rows = 0, items = 0;
                        """
                )
                var writer = try SQLiteIntakeWriter(db, duplicateReason: duplicateReason)
                let filter = ValueFilter(bytes: intakeFilterBytes)
                let signature = try IntakePipeline.run(produce: produce) { row in
                    IntakePipeline.Item(row: row, maybeSeen: row.rejectReason == nil && filter.insert(row.value))
                } consume: { batch in
                    for item in batch { try writer.write(item.row, maybeSeen: item.maybeSeen) }
                }
                try writer.finish()
                try db.execute(
                    sql: "UPDATE state_counts SET rows = ?, items = ? WHERE state = 0",
                    arguments: [writer.accepted, writer.items]
                )
                try db.execute(
                    sql: "INSERT INTO meta (key, value) VALUES ('manifest_sha256', ?), ('job', ?), ('rows', ?), ('rejected', ?)",
                    arguments: [signature.manifestSHA256, signature.job, String(writer.rows), String(writer.rejected)]
                )
                return .commit
            }
        }
    }

    package func pendingWork(after id: Int64, limit: Int) async throws -> [WorkItem] {
        try await queue.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT id, value, payload, attempts FROM work WHERE state = 0 AND id > ? ORDER BY id LIMIT ?",
                arguments: [id, limit]
            ).map { WorkItem(id: $0[0], value: $0[1], payload: $0[2], attempts: $0[3]) }
        }
    }

    package func complete(_ completions: [WorkCompletion], quota: StoredQuota?) async throws {
        guard !completions.isEmpty || quota != nil else { return }
        let now = Date().timeIntervalSince1970
        try await queue.write { db in
            let update = try db.cachedStatement(
                sql: "UPDATE work SET state = ?, attempts = ?, result = ?, error = ?, updated_at = ? WHERE id = ?"
            )
            for completion in completions {
                let result = completion.result.joined(separator: String(Self.fieldSeparator))
                update.setUncheckedArguments([
                    completion.state.rawValue, completion.attempts, result, completion.error, now, completion.id,
                ])
                try update.execute()
            }
            if completions.contains(where: { !$0.files.isEmpty }) {
                let forget = try db.cachedStatement(sql: "DELETE FROM files WHERE work_id = ?")
                let record = try db.cachedStatement(
                    sql: """
                        INSERT OR REPLACE INTO files
                            (path, work_id, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                )
                for completion in completions where !completion.files.isEmpty {
                    forget.setUncheckedArguments([completion.id])
                    try forget.execute()
                    for file in completion.files {
                        record.setUncheckedArguments([
                            file.path, completion.id, file.kind, file.sha256, file.bytes, file.requestedAt, file.apiPath,
                            file.httpStatus, file.apiVersion, file.contentType,
                        ])
                        try record.execute()
                    }
                }
            }
            if let quota { try Self.save(quota, in: db) }
        }
    }

    package func markSending(_ id: Int64) async throws {
        try await queue.write { db in
            try db.execute(sql: "UPDATE work SET state = ? WHERE id = ? AND state = 0", arguments: [WorkState.sending.rawValue, id])
        }
    }

    package func settleInterruptedSends(error: String) async throws -> Int {
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE work SET state = ?, error = ? WHERE state = ?",
                arguments: [WorkState.unknown.rawValue, error, WorkState.sending.rawValue]
            )
            return db.changesCount
        }
    }

    package func requeue(_ states: [WorkState]) async throws -> Int {
        guard !states.isEmpty else { return 0 }
        return try await queue.write { db in
            let list = states.map { String($0.rawValue) }.joined(separator: ",")
            try db.execute(sql: "UPDATE work SET state = 0, error = NULL WHERE state IN (\(list))")
            return db.changesCount
        }
    }

    package func counts() async throws -> StateCounts {
        try await queue.read { db in
            var counts = StateCounts()
            let totals = try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key IN ('rows', 'rejected')")
            for total in totals {
                let value = Int(total[1] as String) ?? 0
                if total[0] == "rows" { counts.rows = value } else { counts.rejected = value }
            }
            for row in try Row.fetchAll(db, sql: "SELECT state, rows, items FROM state_counts") {
                let rows: Int = row[1]
                switch WorkState(rawValue: row[0]) {
                case .succeeded: counts.succeeded += rows
                case .failed: counts.failed += rows
                case .unknown, .sending: counts.unknown += rows
                case .pending, nil:
                    counts.pending += rows
                    counts.pendingWork += row[2] as Int
                }
            }
            return counts
        }
    }

    package func forEachFinishedRow(_ body: (FinishedRow) throws -> Void) async throws {
        try readStreaming { db in
            // Two streams already in row order (first rows through the partial index of finished items, the
            // other rows by their row number), merged by SQLite without sorting.
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id AS row, key, value, state, attempts, result, error FROM work WHERE state != 0
                    UNION ALL
                    SELECT e.row, e.key, w.value, w.state, w.attempts, w.result, w.error
                    FROM extra_rows e JOIN work w ON w.id = e.work_id
                    WHERE e.work_id IS NOT NULL AND w.state != 0
                    ORDER BY 1
                    """
            )
            while let row = try cursor.next() {
                let result: String = row[5] ?? ""
                let state = WorkState(rawValue: row[3]) ?? .pending
                try body(
                    FinishedRow(
                        row: row[0],
                        key: row[1],
                        value: row[2],
                        state: state == .sending ? .unknown : state,
                        attempts: row[4],
                        result: result.split(separator: Self.fieldSeparator, omittingEmptySubsequences: false).map(String.init),
                        error: row[6]
                    )
                )
            }
        }
    }

    package func forEachSavedFile(_ body: (_ file: SavedFile, _ value: String) throws -> Void) async throws {
        try readStreaming { db in
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT f.path, f.kind, f.sha256, f.bytes, f.requested_at, f.api_path, f.http_status, f.api_version,
                        f.content_type, w.value
                    FROM files f JOIN work w ON w.id = f.work_id ORDER BY f.path
                    """
            )
            while let row = try cursor.next() {
                let file = SavedFile(
                    path: row[0], kind: row[1], sha256: row[2], bytes: row[3], requestedAt: row[4], apiPath: row[5],
                    httpStatus: row[6], apiVersion: row[7], contentType: row[8]
                )
                try body(file, row[9])
            }
        }
    }

    package func forEachRejectedRow(_ body: (RejectedRow) throws -> Void) async throws {
        try readStreaming { db in
            let cursor = try Row.fetchCursor(
                db,
                sql: "SELECT row, key, value, reject_reason FROM extra_rows WHERE reject_reason IS NOT NULL ORDER BY row"
            )
            while let row = try cursor.next() {
                try body(RejectedRow(row: row[0], key: row[1], value: row[2], reason: row[3]))
            }
        }
    }

    /// A synchronous read, so rows stream straight into a non-escaping body (GRDB's async read needs an escaping,
    /// Sendable one). Only used at exit, when nothing else waits on the cooperative pool.
    private func readStreaming(_ body: (Database) throws -> Void) throws {
        try queue.read(body)
    }

    package func errorCounts(limit: Int) async throws -> [(error: String, count: Int)] {
        try await queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT coalesce(error, ''), count(*) AS n FROM work WHERE state IN (2, 3, 4)
                    GROUP BY error ORDER BY n DESC, error LIMIT ?
                    """,
                arguments: [limit]
            ).map { (error: $0[0], count: $0[1]) }
        }
    }

    package func allQuotas() async throws -> [StoredQuota] {
        try await queue.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset FROM quota ORDER BY limiter"
            ).map {
                StoredQuota(limiter: $0[0], limit: $0[1], used: $0[2], windowSeconds: $0[3], resetEpochSeconds: $0[4], serverClockOffset: $0[5])
            }
        }
    }

    package func quota(for limiter: String) async throws -> StoredQuota? {
        try await queue.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT quota_limit, used, window_seconds, reset_epoch, server_clock_offset
                        FROM quota WHERE limiter = ?
                        """,
                    arguments: [limiter]
                )
            else { return nil }
            return StoredQuota(
                limiter: limiter,
                limit: row[0],
                used: row[1],
                windowSeconds: row[2],
                resetEpochSeconds: row[3],
                serverClockOffset: row[4]
            )
        }
    }

    package func saveQuota(_ quota: StoredQuota) async throws {
        try await queue.write { db in try Self.save(quota, in: db) }
    }

    private static func save(_ quota: StoredQuota, in db: Database) throws {
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO quota (limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    quota.limiter, quota.limit, quota.used, quota.windowSeconds, quota.resetEpochSeconds,
                    quota.serverClockOffset,
                ]
            )
    }
}
