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

    package func keepAnswers(source: String) async throws {
        let (succeeded, notFound) = (WorkState.succeeded.rawValue, WorkState.notFound.rawValue)
        try await connections.with("keep the campaign's answers", timeout: intakeTimeout) { connection in
            try await connection.query(
                """
                INSERT INTO batch_runner_answers (campaign, value, state, result, answered_at, source)
                SELECT campaign, value, state, result, updated_at, \(source) FROM batch_runner_work
                WHERE campaign = \(campaign) AND state IN (\(succeeded), \(notFound)) AND updated_at IS NOT NULL
                ON CONFLICT (campaign, value) DO UPDATE
                    SET state = EXCLUDED.state, result = EXCLUDED.result, answered_at = EXCLUDED.answered_at, source = EXCLUDED.source
                """,
                logger: logger
            )
        }
    }

    package func reuseAnswers(source: String, since: Double) async throws -> Int {
        try await connections.with("reuse earlier answers", transaction: .once, timeout: intakeTimeout) { connection in
            let rows = try await connection.query(
                """
                WITH reused AS (
                    UPDATE batch_runner_work w SET state = a.state, result = a.result, attempts = 0, error = NULL, updated_at = a.answered_at
                    FROM batch_runner_answers a
                    WHERE w.campaign = \(campaign) AND w.state = 0 AND a.campaign = w.campaign AND a.value = w.value
                        AND a.answered_at >= to_timestamp(\(since)) AND a.source = \(source)
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
}
