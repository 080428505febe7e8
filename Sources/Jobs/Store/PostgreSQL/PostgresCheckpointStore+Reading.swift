import NIOCore
import PostgresNIO

extension PostgresCheckpointStore {
    /// The campaign's counts. Only finished items are read (through their partial index): the pending ones are
    /// the intake's items less those, so the counts of a fresh intake of a million rows cost nothing. Campaigns
    /// taken in before schema 4 do not know their items and are counted whole.
    package func counts() async throws -> StateCounts {
        try await connections.with("count the rows") { connection in
            var counts = StateCounts()
            var items: Int?
            let totals = try await connection.query(
                "SELECT rows, rejected, items, reused FROM batch_runner_campaigns WHERE campaign = \(campaign) AND manifest_sha256 IS NOT NULL",
                logger: logger
            )
            for (rows, rejected, itemCount, reused) in try totals.decode((Int64, Int64, Int64?, Int64).self) {
                (counts.rows, counts.rejected, items, counts.reused) = (Int(rows), Int(rejected), itemCount.map(Int.init), Int(reused))
            }
            let states = try await connection.query(
                items == nil
                    ? "SELECT state::int8, sum(1 + shared_rows)::int8, count(*) FROM batch_runner_work WHERE campaign = \(campaign) GROUP BY state"
                    : "SELECT state::int8, sum(1 + shared_rows)::int8, count(*) FROM batch_runner_work WHERE campaign = \(campaign) AND state <> 0 GROUP BY state",
                logger: logger
            )
            var finished = (rows: 0, items: 0)
            for (state, rows, itemsInState) in try states.decode((Int64, Int64, Int64).self) {
                switch WorkState(rawValue: Int(state)) {
                case .succeeded: counts.succeeded += Int(rows)
                case .failed: counts.failed += Int(rows)
                case .notFound: counts.notFound += Int(rows)
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

    /// Rows are read a page at a time (``readPage``), each page an operation of its own with its deadline. Each
    /// side of the union is limited on its own, so a page is two short index range scans (the finished items' index,
    /// the extra rows' key), not a scan of the campaign: 4 ms a page instead of 500 ms on 1.4 million finished rows.
    package func forEachFinishedRow(_ body: (FinishedRow) throws -> Void) async throws {
        let campaign = self.campaign
        var after: Int64 = 0
        while true {
            try Task.checkCancellation()
            let page = try await connections.with("read the finished rows") { connection in
                try await connection.query(
                    """
                    (SELECT id AS row, key, value, state::int8, attempts::int8, result, error FROM batch_runner_work
                    WHERE campaign = \(campaign) AND state <> 0 AND id > \(after) ORDER BY id LIMIT \(Self.readPage))
                    UNION ALL
                    (SELECT e.row, e.key, w.value, w.state::int8, w.attempts::int8, w.result, w.error
                    FROM batch_runner_extra_rows e JOIN batch_runner_work w ON w.campaign = e.campaign AND w.id = e.work_id
                    WHERE e.campaign = \(campaign) AND e.work_id IS NOT NULL AND w.state <> 0 AND e.row > \(after)
                    ORDER BY e.row LIMIT \(Self.readPage))
                    ORDER BY 1 LIMIT \(Self.readPage)
                    """
                ).decode((Int64, String?, String, Int64, Int64, String?, String?).self)
            }
            for (row, key, value, state, attempts, result, error) in page {
                let state = WorkState(rawValue: Int(state)) ?? .pending
                try body(
                    FinishedRow(
                        row: Int(row), key: key, value: value, state: state == .sending ? .unknown : state, attempts: Int(attempts),
                        result: StoredFields.decode(result), error: error
                    )
                )
            }
            guard page.count == Self.readPage, let last = page.last else { return }
            after = last.0
        }
    }

    package func forEachSavedFile(_ body: (_ file: SavedFile, _ value: String, _ row: Int64) throws -> Void) async throws {
        let campaign = self.campaign
        var after = ""
        while true {
            try Task.checkCancellation()
            let page = try await connections.with("read the saved files") { connection in
                try await connection.query(
                    """
                    SELECT f.path, f.kind, f.sha256, f.bytes, f.requested_at, f.api_path, f.http_status::int8, f.api_version, f.content_type, w.value, w.id
                    FROM batch_runner_files f JOIN batch_runner_work w ON w.campaign = f.campaign AND w.id = f.work_id
                    WHERE f.campaign = \(campaign) AND f.path COLLATE "C" > \(after) COLLATE "C"
                    ORDER BY f.path COLLATE "C" LIMIT \(Self.readPage)
                    """
                ).decode((String, String, String, Int64, String, String, Int64, String, String, String, Int64).self)
            }
            for (path, kind, sha256, bytes, requestedAt, apiPath, status, apiVersion, contentType, value, row) in page {
                let file = SavedFile(
                    path: path, kind: kind, sha256: sha256, bytes: Int(bytes), requestedAt: requestedAt, apiPath: apiPath,
                    httpStatus: Int(status), apiVersion: apiVersion, contentType: contentType
                )
                try body(file, value, row)
            }
            guard page.count == Self.readPage, let last = page.last else { return }
            after = last.0
        }
    }

    package func forEachRejectedRow(_ body: (RejectedRow) throws -> Void) async throws {
        let campaign = self.campaign
        var after: Int64 = 0
        while true {
            try Task.checkCancellation()
            let page = try await connections.with("read the rejected rows") { connection in
                try await connection.query(
                    """
                    SELECT row, key, value, reject_reason FROM batch_runner_extra_rows
                    WHERE campaign = \(campaign) AND reject_reason IS NOT NULL AND row > \(after) ORDER BY row LIMIT \(Self.readPage)
                    """
                ).decode((Int64, String?, String, String).self)
            }
            for (row, key, value, reason) in page {
                try body(RejectedRow(row: Int(row), key: key, value: value, reason: reason))
            }
            guard page.count == Self.readPage, let last = page.last else { return }
            after = last.0
        }
    }

    /// Rows a read takes at once: a page is a short statement, and only one page is in memory.
    static let readPage = 5_000

    package func errorCounts(limit: Int) async throws -> [(error: String, count: Int)] {
        try await connections.with("count the errors") { connection in
            let rows = try await connection.query(
                """
                SELECT coalesce(error, ''), count(*) AS n FROM batch_runner_work
                WHERE campaign = \(campaign) AND state IN (2, 3, 4)
                GROUP BY error ORDER BY n DESC, 1 LIMIT \(limit)
                """,
                logger: logger
            )
            var counts: [(error: String, count: Int)] = []
            for (error, count) in try rows.decode((String, Int64).self) { counts.append((error, Int(count))) }
            return counts
        }
    }

    package func containsItem(value: String) async throws -> Bool {
        try await connections.with("look up a row") { connection in
            let rows = try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM batch_runner_work WHERE campaign = \(campaign) AND value = \(value))",
                logger: logger
            )
            for exists in try rows.decode(Bool.self) { return exists }
            return false
        }
    }

    package func savedFileContents(_ path: String) async throws -> [UInt8]? {
        try await connections.with("read a saved file") { connection in
            let rows = try await connection.query(
                "SELECT content FROM batch_runner_files WHERE campaign = \(campaign) AND path = \(path)",
                logger: logger
            )
            for content in try rows.decode(ByteBuffer?.self) {
                return content.map { Array($0.readableBytesView) }
            }
            return nil
        }
    }
}
