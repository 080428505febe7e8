import NIOCore
import PostgresNIO

extension PostgresCheckpointStore {
    /// The campaign's counts. Only finished items are read (through their partial index): the pending ones are
    /// the intake's items less those, so the counts of a fresh intake of a million rows cost nothing. Campaigns
    /// taken in before schema 4 do not know their items and are counted whole.
    package func counts() async throws -> StateCounts {
        try await connections.with { connection in
            var counts = StateCounts()
            var items: Int?
            let totals = try await connection.query(
                "SELECT rows, rejected, items FROM batch_runner_campaigns WHERE campaign = \(campaign) AND manifest_sha256 IS NOT NULL",
                logger: logger
            )
            for try await (rows, rejected, itemCount) in totals.decode((Int64, Int64, Int64?).self) {
                (counts.rows, counts.rejected, items) = (Int(rows), Int(rejected), itemCount.map(Int.init))
            }
            let states = try await connection.query(
                items == nil
                    ? "SELECT state::int8, sum(1 + shared_rows)::int8, count(*) FROM batch_runner_work WHERE campaign = \(campaign) GROUP BY state"
                    : "SELECT state::int8, sum(1 + shared_rows)::int8, count(*) FROM batch_runner_work WHERE campaign = \(campaign) AND state <> 0 GROUP BY state",
                logger: logger
            )
            var finished = (rows: 0, items: 0)
            for try await (state, rows, itemsInState) in states.decode((Int64, Int64, Int64).self) {
                switch WorkState(rawValue: Int(state)) {
                case .succeeded: counts.succeeded += Int(rows)
                case .failed: counts.failed += Int(rows)
                case .unknown, .sending: counts.unknown += Int(rows)
                case .pending, nil:
                    counts.pending += Int(rows)
                    counts.pendingWork += Int(itemsInState)
                    continue
                }
                finished.rows += Int(rows)
                finished.items += Int(itemsInState)
            }
            if let items {
                counts.pending = counts.accepted - finished.rows
                counts.pendingWork = items - finished.items
            }
            return counts
        }
    }

    package func forEachFinishedRow(_ body: (FinishedRow) throws -> Void) async throws {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                SELECT id AS row, key, value, state::int8, attempts::int8, result, error FROM batch_runner_work
                WHERE campaign = \(campaign) AND state <> 0
                UNION ALL
                SELECT e.row, e.key, w.value, w.state::int8, w.attempts::int8, w.result, w.error
                FROM batch_runner_extra_rows e JOIN batch_runner_work w ON w.campaign = e.campaign AND w.id = e.work_id
                WHERE e.campaign = \(campaign) AND e.work_id IS NOT NULL AND w.state <> 0
                ORDER BY 1
                """,
                logger: logger
            )
            for try await (row, key, value, state, attempts, result, error) in rows.decode((Int64, String?, String, Int64, Int64, String?, String?).self) {
                let state = WorkState(rawValue: Int(state)) ?? .pending
                try body(
                    FinishedRow(
                        row: Int(row), key: key, value: value, state: state == .sending ? .unknown : state, attempts: Int(attempts),
                        result: StoredFields.decode(result), error: error
                    )
                )
            }
        }
    }

    package func forEachSavedFile(_ body: (_ file: SavedFile, _ value: String) throws -> Void) async throws {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                SELECT f.path, f.kind, f.sha256, f.bytes, f.requested_at, f.api_path, f.http_status::int8, f.api_version, f.content_type, w.value
                FROM batch_runner_files f JOIN batch_runner_work w ON w.campaign = f.campaign AND w.id = f.work_id
                WHERE f.campaign = \(campaign) ORDER BY f.path COLLATE "C"
                """,
                logger: logger
            )
            for try await (path, kind, sha256, bytes, requestedAt, apiPath, status, apiVersion, contentType, value)
                in rows.decode((String, String, String, Int64, String, String, Int64, String, String, String).self)
            {
                let file = SavedFile(
                    path: path, kind: kind, sha256: sha256, bytes: Int(bytes), requestedAt: requestedAt, apiPath: apiPath,
                    httpStatus: Int(status), apiVersion: apiVersion, contentType: contentType
                )
                try body(file, value)
            }
        }
    }

    package func forEachRejectedRow(_ body: (RejectedRow) throws -> Void) async throws {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                SELECT row, key, value, reject_reason FROM batch_runner_extra_rows
                WHERE campaign = \(campaign) AND reject_reason IS NOT NULL ORDER BY row
                """,
                logger: logger
            )
            for try await (row, key, value, reason) in rows.decode((Int64, String?, String, String).self) {
                try body(RejectedRow(row: Int(row), key: key, value: value, reason: reason))
            }
        }
    }

    package func errorCounts(limit: Int) async throws -> [(error: String, count: Int)] {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                SELECT coalesce(error, ''), count(*) AS n FROM batch_runner_work
                WHERE campaign = \(campaign) AND state IN (2, 3, 4)
                GROUP BY error ORDER BY n DESC, 1 LIMIT \(limit)
                """,
                logger: logger
            )
            var counts: [(error: String, count: Int)] = []
            for try await (error, count) in rows.decode((String, Int64).self) { counts.append((error, Int(count))) }
            return counts
        }
    }

    package func containsItem(value: String) async throws -> Bool {
        try await connections.with { connection in
            let rows = try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM batch_runner_work WHERE campaign = \(campaign) AND value = \(value))",
                logger: logger
            )
            for try await exists in rows.decode(Bool.self) { return exists }
            return false
        }
    }

    package func savedFileContents(_ path: String) async throws -> [UInt8]? {
        try await connections.with { connection in
            let rows = try await connection.query(
                "SELECT content FROM batch_runner_files WHERE campaign = \(campaign) AND path = \(path)",
                logger: logger
            )
            for try await content in rows.decode(ByteBuffer?.self) {
                return content.map { Array($0.readableBytesView) }
            }
            return nil
        }
    }
}
