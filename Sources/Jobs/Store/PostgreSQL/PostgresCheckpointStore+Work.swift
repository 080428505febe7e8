import Foundation
import Logging
import NIOCore
import PostgresNIO
package import RateLimiter

/// Sending and finishing work items: the journal of sends, commits and requeues.
extension PostgresCheckpointStore {
    // MARK: Work

    /// Marks the item `sending` only while this worker still owns it and its lease runs: a worker whose lease ran
    /// out (a pause, a slow database) and whose item another worker took over must not send it too.
    ///
    /// - Throws: ``StoreError/claimLost(location:)`` when the item is no longer this worker's.
    package func markSending(_ id: Int64) async throws {
        try await workerLease?.permit()
        let (campaign, me) = (self.campaign, self.me)
        let marked = try await connections.with("record a request about to leave") { connection in
            try await connection.query(
                """
                UPDATE batch_runner_work SET state = 4 WHERE campaign = \(campaign) AND id = \(id) AND state = 0 AND owner = \(me)
                    AND EXISTS (SELECT 1 FROM batch_runner_workers m WHERE m.id = \(me) AND m.lease_until > now() AND m.ended_at IS NULL)
                RETURNING id
                """
            ).count
        }
        guard marked == 1 else { throw StoreError.claimLost(location: connections.location.description) }
    }

    package func settleInterruptedSends(error: String) async throws -> Int {
        try await Self.settleDeadSends(connections: connections, campaign: campaign, error: error)
    }

    /// Turns items left `sending` by workers that are gone (ended, or their lease ran out) into `unknown`. The
    /// `state <> 0` names the partial index of finished items, so the heartbeat never reads the whole campaign; rows
    /// another transaction holds are skipped (the next heartbeat settles them), so this never waits on a lock.
    static func settleDeadSends(connections: PostgresConnections, campaign: String, error: String) async throws -> Int {
        try await connections.with("settle what dead workers left sending") { connection in
            try await connection.query(
                """
                WITH dead AS (
                    SELECT w.id FROM batch_runner_work w
                    WHERE w.campaign = \(campaign) AND w.state <> 0 AND w.state = 4
                        AND (w.owner IS NULL OR NOT EXISTS (
                            SELECT 1 FROM batch_runner_workers k WHERE k.id = w.owner AND k.lease_until > now() AND k.ended_at IS NULL))
                    ORDER BY w.id FOR UPDATE SKIP LOCKED
                )
                UPDATE batch_runner_work w SET state = 3, error = \(error), owner = NULL, updated_at = now()
                FROM dead WHERE w.campaign = \(campaign) AND w.id = dead.id
                RETURNING w.id
                """
            ).count
        }
    }

    /// Commits what this worker finished. A completion counts when this worker still owns the item, or when nobody
    /// holds it and nobody finished it (its lease ran out and it was released, or settled `unknown`): a late answer
    /// is kept where that is safe, and never written over an item another worker holds or finished. Only the items
    /// whose update counted have their files recorded. Rows are locked in id order.
    package func complete(_ completions: [WorkCompletion], quota: StoredQuota?) async throws {
        guard !completions.isEmpty || quota != nil else { return }
        // Files are read before the transaction: their bytes go into the store with the row that saved them.
        var files: [(work: Int64, file: SavedFile, content: ByteBuffer?)] = []
        for completion in completions {
            for file in completion.files {
                let content = FileManager.default.contents(atPath: outputFolder + "/" + file.path).map { ByteBuffer(bytes: $0) }
                files.append((completion.id, file, content))
            }
        }
        let (campaign, me, logger) = (self.campaign, self.me, self.logger)
        let ids = completions.map(\.id)
        let refused = try await connections.with("commit finished rows", transaction: .retryingConflicts) { connection in
            var accepted = Set<Int64>()
            if !completions.isEmpty {
                try await connection.query(
                    "SELECT id FROM batch_runner_work WHERE campaign = \(campaign) AND id = ANY(\(ids)) ORDER BY id FOR UPDATE"
                )
                let rows = try await connection.query(
                    """
                    UPDATE batch_runner_work w SET state = u.state, attempts = u.attempts,
                        result = CASE WHEN u.has_result THEN u.result END, error = CASE WHEN u.has_error THEN u.error END,
                        updated_at = now(), owner = NULL
                    FROM unnest(\(ids), \(completions.map { Int64($0.state.rawValue) }), \(completions.map { Int64($0.attempts) }),
                        \(completions.map { StoredFields.encode($0.result) ?? "" }), \(completions.map { $0.result != nil }),
                        \(completions.map { $0.error ?? "" }), \(completions.map { $0.error != nil }))
                        AS u(id, state, attempts, result, has_result, error, has_error)
                    WHERE w.campaign = \(campaign) AND w.id = u.id AND w.state NOT IN (1, 2) AND (w.owner = \(me) OR w.owner IS NULL)
                    RETURNING w.id
                    """
                )
                accepted = Set(try rows.decode(Int64.self))
            }
            let kept = files.filter { accepted.contains($0.work) }
            if !kept.isEmpty {
                // A row completed again keeps only its latest files.
                try await connection.query(
                    "DELETE FROM batch_runner_files WHERE campaign = \(campaign) AND work_id = ANY(\(Array(Set(kept.map(\.work)))))"
                )
            }
            for (work, file, content) in kept {
                try await connection.query(
                    """
                    INSERT INTO batch_runner_files
                        (campaign, path, work_id, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type, content)
                    VALUES (\(campaign), \(file.path), \(work), \(file.kind), \(file.sha256), \(Int64(file.bytes)), \(file.requestedAt),
                        \(file.apiPath), \(Int32(file.httpStatus)), \(file.apiVersion), \(file.contentType), \(content))
                    ON CONFLICT (campaign, path) DO UPDATE SET work_id = EXCLUDED.work_id, kind = EXCLUDED.kind,
                        sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes, requested_at = EXCLUDED.requested_at,
                        api_path = EXCLUDED.api_path, http_status = EXCLUDED.http_status, api_version = EXCLUDED.api_version,
                        content_type = EXCLUDED.content_type, content = EXCLUDED.content
                    """
                )
            }
            if let quota { try await Self.save(quota, on: connection, logger: logger) }
            return completions.count - accepted.count
        }
        if refused > 0 {
            logger.debug("answers for rows another worker holds or finished were dropped", metadata: ["rows.dropped": "\(refused)"])
        }
    }

    /// Also hands this worker's own claims out again, as the protocol asks of a requeue.
    package func requeue(_ states: [WorkState]) async throws -> Int {
        guard !states.isEmpty else { return 0 }
        let (campaign, codes, me) = (self.campaign, states.map { Int64($0.rawValue) }, self.me)
        return try await connections.with("requeue rows", transaction: .retryingConflicts) { connection in
            try await connection.query(
                """
                WITH chosen AS (
                    SELECT id, state <> 0 AS finished FROM batch_runner_work
                    WHERE campaign = \(campaign) AND (state = ANY(\(codes)) OR (state = 0 AND owner = \(me))) ORDER BY id FOR UPDATE
                )
                UPDATE batch_runner_work w SET state = 0, error = NULL, owner = NULL
                FROM chosen WHERE w.campaign = \(campaign) AND w.id = chosen.id
                RETURNING chosen.finished
                """
            ).decode(Bool.self).filter { $0 }.count
        }
    }
}
