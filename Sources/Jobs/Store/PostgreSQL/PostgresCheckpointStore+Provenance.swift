import PostgresNIO

/// What a campaign keeps beyond its rows: where its results came from (``StateProvenance``), and the answers of its
/// earlier runs that a recurring job's next campaign may reuse.
extension PostgresCheckpointStore {
    package func provenance() async throws -> StateProvenance? {
        try await connections.with("read where the campaign's results came from") { connection in
            let rows = try await connection.query(
                "SELECT provenance FROM batch_runner_campaigns WHERE campaign = \(campaign) AND provenance IS NOT NULL", logger: logger
            )
            return try rows.decode(String.self).first.flatMap(StateProvenance.init(json:))
        }
    }

    package func recordProvenance(_ provenance: StateProvenance) async throws {
        try await connections.with("record where the campaign's results come from") { connection in
            try await connection.query(
                "UPDATE batch_runner_campaigns SET provenance = \(provenance.json) WHERE campaign = \(campaign)", logger: logger
            )
        }
    }

    package func keepAnswers(source: String, since: Double?, contents: (SavedFile) -> [UInt8]?) async throws {
        let (succeeded, notFound) = (WorkState.succeeded.rawValue, WorkState.notFound.rawValue)
        let campaign = self.campaign
        try await connections.with("keep the campaign's answers", transaction: .once, timeout: intakeTimeout) { connection in
            try await connection.query(
                """
                DELETE FROM batch_runner_answer_files af USING batch_runner_work w
                WHERE af.campaign = \(campaign) AND w.campaign = af.campaign AND w.value = af.value
                    AND w.state IN (\(succeeded), \(notFound)) AND w.updated_at IS NOT NULL
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO batch_runner_answers (campaign, value, state, result, answered_at, source, payload)
                SELECT campaign, value, state, result, updated_at, \(source), payload FROM batch_runner_work
                WHERE campaign = \(campaign) AND state IN (\(succeeded), \(notFound)) AND updated_at IS NOT NULL
                ON CONFLICT (campaign, value) DO UPDATE SET state = EXCLUDED.state, result = EXCLUDED.result,
                    answered_at = EXCLUDED.answered_at, source = EXCLUDED.source, payload = EXCLUDED.payload
                """,
                logger: logger
            )
            // The store keeps the files' bytes; a file it could not read at its commit is read from the output now.
            try await connection.query(
                """
                INSERT INTO batch_runner_answer_files
                    (campaign, value, path, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type, content)
                SELECT f.campaign, w.value, f.path, f.kind, f.sha256, f.bytes, f.requested_at, f.api_path, f.http_status,
                    f.api_version, f.content_type, f.content
                FROM batch_runner_files f JOIN batch_runner_work w ON w.campaign = f.campaign AND w.id = f.work_id
                WHERE f.campaign = \(campaign) AND w.state IN (\(succeeded), \(notFound)) AND w.updated_at IS NOT NULL
                """,
                logger: logger
            )
            let missing = try await connection.query(
                """
                SELECT path, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type, value
                FROM batch_runner_answer_files WHERE campaign = \(campaign) AND content IS NULL
                """,
                logger: logger
            ).decode((String, String, String, Int64, String, String, Int32, String, String, String).self)
            for (path, kind, sha256, bytes, requestedAt, apiPath, status, apiVersion, contentType, value) in missing {
                let file = SavedFile(
                    path: path, kind: kind, sha256: sha256, bytes: Int(bytes), requestedAt: requestedAt, apiPath: apiPath,
                    httpStatus: Int(status), apiVersion: apiVersion, contentType: contentType
                )
                if let bytes = contents(file) {
                    try await connection.query(
                        """
                        UPDATE batch_runner_answer_files SET content = \(ByteBuffer(bytes: bytes))
                        WHERE campaign = \(campaign) AND value = \(value) AND path = \(path)
                        """,
                        logger: logger
                    )
                } else {
                    try await connection.query("DELETE FROM batch_runner_answers WHERE campaign = \(campaign) AND value = \(value)", logger: logger)
                }
            }
            if let since {
                try await connection.query(
                    "DELETE FROM batch_runner_answers WHERE campaign = \(campaign) AND answered_at < to_timestamp(\(since))", logger: logger
                )
            }
            try await connection.query(
                """
                DELETE FROM batch_runner_answer_files af WHERE af.campaign = \(campaign) AND (af.content IS NULL
                    OR NOT EXISTS (SELECT 1 FROM batch_runner_answers a WHERE a.campaign = af.campaign AND a.value = af.value))
                """,
                logger: logger
            )
        }
    }

    package func reuseAnswers(source: String, since: Double, restore: (SavedFile, [UInt8]) throws -> Void) async throws -> Int {
        let campaign = self.campaign
        return try await connections.with("reuse earlier answers", transaction: .once, timeout: intakeTimeout) { connection in
            // The files first, a page at a time, so that no committed row points to a file that is not there.
            var after = ("", "")
            while true {
                let page = try await connection.query(
                    """
                    SELECT af.path, af.kind, af.sha256, af.bytes, af.requested_at, af.api_path, af.http_status, af.api_version,
                        af.content_type, af.content, af.value
                    FROM batch_runner_answer_files af
                    JOIN batch_runner_answers a ON a.campaign = af.campaign AND a.value = af.value
                    JOIN batch_runner_work w ON w.campaign = a.campaign AND w.value = a.value
                    WHERE af.campaign = \(campaign) AND w.state = 0 AND a.answered_at >= to_timestamp(\(since)) AND a.source = \(source)
                        AND a.payload IS NOT DISTINCT FROM w.payload AND (af.value, af.path) > (\(after.0), \(after.1))
                    ORDER BY af.value, af.path LIMIT 256
                    """,
                    logger: logger
                ).decode((String, String, String, Int64, String, String, Int32, String, String, ByteBuffer, String).self)
                for (path, kind, sha256, bytes, requestedAt, apiPath, status, apiVersion, contentType, content, value) in page {
                    let file = SavedFile(
                        path: path, kind: kind, sha256: sha256, bytes: Int(bytes), requestedAt: requestedAt, apiPath: apiPath,
                        httpStatus: Int(status), apiVersion: apiVersion, contentType: contentType
                    )
                    try restore(file, Array(content.readableBytesView))
                    after = (value, path)
                }
                if page.count < 256 { break }
            }
            try await connection.query(
                """
                INSERT INTO batch_runner_files
                    (campaign, path, work_id, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type, content)
                SELECT af.campaign, af.path, w.id, af.kind, af.sha256, af.bytes, af.requested_at, af.api_path, af.http_status,
                    af.api_version, af.content_type, af.content
                FROM batch_runner_answer_files af
                JOIN batch_runner_answers a ON a.campaign = af.campaign AND a.value = af.value
                JOIN batch_runner_work w ON w.campaign = a.campaign AND w.value = a.value
                WHERE af.campaign = \(campaign) AND w.state = 0 AND a.answered_at >= to_timestamp(\(since)) AND a.source = \(source)
                    AND a.payload IS NOT DISTINCT FROM w.payload
                ON CONFLICT (campaign, path) DO UPDATE SET work_id = EXCLUDED.work_id, kind = EXCLUDED.kind,
                    sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes, requested_at = EXCLUDED.requested_at,
                    api_path = EXCLUDED.api_path, http_status = EXCLUDED.http_status, api_version = EXCLUDED.api_version,
                    content_type = EXCLUDED.content_type, content = EXCLUDED.content
                """,
                logger: logger
            )
            let rows = try await connection.query(
                """
                WITH reused AS (
                    UPDATE batch_runner_work w SET state = a.state, result = a.result, attempts = 0, error = NULL, updated_at = a.answered_at
                    FROM batch_runner_answers a
                    WHERE w.campaign = \(campaign) AND w.state = 0 AND a.campaign = w.campaign AND a.value = w.value
                        AND a.answered_at >= to_timestamp(\(since)) AND a.source = \(source) AND a.payload IS NOT DISTINCT FROM w.payload
                    RETURNING 1 + w.shared_rows AS rows
                )
                UPDATE batch_runner_campaigns SET reused = (SELECT coalesce(sum(rows), 0) FROM reused)
                WHERE campaign = \(campaign) RETURNING reused
                """,
                logger: logger
            )
            return Int(try rows.decode(Int64.self).first ?? 0)
        }
    }

    package func forEachReusableAnswer(
        source: String, since: Double, includingCurrent: Bool, _ body: (KeptAnswer) throws -> Void
    ) async throws {
        let campaign = self.campaign
        let (succeeded, notFound) = (WorkState.succeeded.rawValue, WorkState.notFound.rawValue)
        let answers = try await connections.with("read the answers a new campaign could reuse", timeout: intakeTimeout) { connection in
            try await connection.query(
                """
                SELECT value, payload, state::int8, result, extract(epoch FROM answered_at)::float8 FROM batch_runner_answers
                WHERE campaign = \(campaign) AND answered_at >= to_timestamp(\(since)) AND source = \(source)
                UNION ALL
                SELECT value, payload, state::int8, result, extract(epoch FROM updated_at)::float8 FROM batch_runner_work
                WHERE \(includingCurrent) AND campaign = \(campaign) AND state IN (\(succeeded), \(notFound))
                    AND updated_at >= to_timestamp(\(since))
                ORDER BY 5
                """,
                logger: logger
            ).decode((String, String?, Int64, String?, Double).self)
        }
        for (value, payload, state, result, answeredAt) in answers {
            try body(
                KeptAnswer(
                    value: value, payload: payload, state: WorkState(rawValue: Int(state)) ?? .succeeded,
                    result: StoredFields.decode(result), answeredAt: answeredAt
                )
            )
        }
    }
}
