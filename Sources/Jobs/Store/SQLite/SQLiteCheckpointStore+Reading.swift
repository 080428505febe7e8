import GRDB

extension SQLiteCheckpointStore {
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
                let state = WorkState(rawValue: row[3]) ?? .pending
                try body(
                    FinishedRow(
                        row: row[0],
                        key: row[1],
                        value: row[2],
                        state: state == .sending ? .unknown : state,
                        attempts: row[4],
                        result: StoredFields.decode(row[5]),
                        error: row[6]
                    )
                )
            }
        }
    }

    package func containsItem(value: String) async throws -> Bool {
        try await queue.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM work WHERE value = ?)", arguments: [value]) ?? false
        }
    }

    package func forEachSavedFile(_ body: (_ file: SavedFile, _ value: String, _ row: Int64) throws -> Void) async throws {
        try readStreaming { db in
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT f.path, f.kind, f.sha256, f.bytes, f.requested_at, f.api_path, f.http_status, f.api_version,
                        f.content_type, w.value, w.id
                    FROM files f JOIN work w ON w.id = f.work_id ORDER BY f.path
                    """
            )
            while let row = try cursor.next() {
                let file = SavedFile(
                    path: row[0], kind: row[1], sha256: row[2], bytes: row[3], requestedAt: row[4], apiPath: row[5],
                    httpStatus: row[6], apiVersion: row[7], contentType: row[8]
                )
                try body(file, row[9], row[10])
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
    func readStreaming(_ body: (Database) throws -> Void) throws {
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
                sql: """
                    SELECT limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset, learned_rate, learned_window
                    FROM quota ORDER BY limiter
                    """
            ).map {
                StoredQuota(
                    limiter: $0[0], limit: $0[1], used: $0[2], windowSeconds: $0[3], resetEpochSeconds: $0[4], serverClockOffset: $0[5],
                    learnedRate: $0[6], learnedWindowSeconds: $0[7]
                )
            }
        }
    }

    package func quota(for limiter: String) async throws -> StoredQuota? {
        try await queue.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT quota_limit, used, window_seconds, reset_epoch, server_clock_offset, learned_rate, learned_window
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
                serverClockOffset: row[4],
                learnedRate: row[5],
                learnedWindowSeconds: row[6]
            )
        }
    }

    package func saveQuota(_ quota: StoredQuota) async throws {
        try await queue.write { db in try Self.save(quota, in: db) }
    }

    static func save(_ quota: StoredQuota, in db: Database) throws {
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO quota
                        (limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset, learned_rate, learned_window)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    quota.limiter, quota.limit, quota.used, quota.windowSeconds, quota.resetEpochSeconds,
                    quota.serverClockOffset, quota.learnedRate, quota.learnedWindowSeconds,
                ]
            )
    }
}
