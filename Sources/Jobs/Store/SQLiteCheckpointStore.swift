import Foundation
import GRDB

/// The checkpoint store in one SQLite file (WAL, `synchronous=NORMAL`, mode 0600), through GRDB.
///
/// WAL with `synchronous=NORMAL` keeps every committed transaction across a killed process; only a power loss can
/// take back the last commits, which then are simply done again.
package final class SQLiteCheckpointStore: CheckpointStore {
    private let queue: DatabaseQueue
    /// Separates result fields inside one column (the ASCII unit separator never occurs in results).
    static let fieldSeparator: Character = "\u{1F}"

    /// Opens (creating when needed) the store at `path`; `":memory:"` for a private in-memory store.
    package init(path: String) throws {
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
        produce: @Sendable (_ emit: (IntakeRow) throws -> Void) throws -> IntakeSignature
    ) async throws {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM meta; DELETE FROM rows; DELETE FROM work; DELETE FROM quota; DELETE FROM files;")
            let insert = try db.makeStatement(
                sql: "INSERT INTO rows (row, key, value, payload, reject_reason) VALUES (?, ?, ?, ?, ?)"
            )
            let signature = try produce { row in
                insert.setUncheckedArguments([row.row, row.key, row.value, row.payload, row.rejectReason])
                try insert.execute()
            }
            if let duplicateReason {
                let reason = DatabaseFunction("duplicate_reason", argumentCount: 2, pure: true) { values in
                    duplicateReason(String.fromDatabaseValue(values[0]) ?? "", Int.fromDatabaseValue(values[1]) ?? 0)
                }
                db.add(function: reason)
                defer { db.remove(function: reason) }
                try db.execute(
                    sql: """
                        CREATE INDEX IF NOT EXISTS rows_by_value ON rows (value);
                        UPDATE rows SET reject_reason = duplicate_reason(value,
                            (SELECT min(first.row) FROM rows first WHERE first.value = rows.value AND first.reject_reason IS NULL))
                        WHERE reject_reason IS NULL AND row > (
                            SELECT min(first.row) FROM rows first WHERE first.value = rows.value AND first.reject_reason IS NULL
                        );
                        """
                )
            }
            try db.execute(
                sql: """
                    INSERT INTO work (value, payload)
                    SELECT value, payload FROM rows WHERE reject_reason IS NULL ORDER BY row
                    ON CONFLICT (value) DO NOTHING
                    """
            )
            try db.execute(
                sql: "INSERT INTO meta (key, value) VALUES ('manifest_sha256', ?), ('job', ?)",
                arguments: [signature.manifestSHA256, signature.job]
            )
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
            let totals = try Row.fetchOne(db, sql: "SELECT count(*), count(reject_reason) FROM rows")
            counts.rows = totals?[0] ?? 0
            counts.rejected = totals?[1] ?? 0
            let byState = try Row.fetchAll(
                db,
                sql: """
                    SELECT w.state, count(*) FROM rows r JOIN work w ON w.value = r.value
                    WHERE r.reject_reason IS NULL GROUP BY w.state
                    """
            )
            for row in byState {
                let count: Int = row[1]
                switch WorkState(rawValue: row[0]) {
                case .succeeded: counts.succeeded += count
                case .failed: counts.failed += count
                case .unknown, .sending: counts.unknown += count
                case .pending, nil: counts.pending += count
                }
            }
            counts.pendingWork = try Int.fetchOne(db, sql: "SELECT count(*) FROM work WHERE state = 0") ?? 0
            return counts
        }
    }

    package func forEachFinishedRow(_ body: (FinishedRow) throws -> Void) async throws {
        try readStreaming { db in
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT r.row, r.key, r.value, w.state, w.attempts, w.result, w.error
                    FROM rows r JOIN work w ON w.value = r.value
                    WHERE r.reject_reason IS NULL AND w.state IN (1, 2, 3, 4) ORDER BY r.row
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
                sql: "SELECT row, key, value, reject_reason FROM rows WHERE reject_reason IS NOT NULL ORDER BY row"
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
