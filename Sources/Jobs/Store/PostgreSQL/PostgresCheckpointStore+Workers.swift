import Logging
import PostgresNIO

/// What a worker learns about the others of its campaign, and the intake lock they share.
extension PostgresCheckpointStore {
    package func unfinishedItemsElsewhere() async throws -> Int {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                SELECT count(*) FROM batch_runner_work
                WHERE campaign = \(campaign) AND state IN (0, 4) AND (owner IS NULL OR owner <> \(me))
                """,
                logger: logger
            )
            for try await count in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    package func workers() async throws -> [WorkerRecord] {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                SELECT k.host, k.pid, to_char(k.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                    to_char(k.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                    k.lease_until > now() AND k.ended_at IS NULL, k.ended_at IS NOT NULL,
                    (SELECT count(*) FROM batch_runner_work w WHERE w.campaign = k.campaign AND w.owner = k.id AND w.state IN (0, 4))
                FROM batch_runner_workers k
                WHERE k.campaign = \(campaign) AND (k.ended_at IS NULL OR k.ended_at > now() - interval '1 day')
                ORDER BY k.id
                """,
                logger: logger
            )
            var workers: [WorkerRecord] = []
            for try await (host, pid, started, heartbeat, live, ended, held) in rows.decode((String, Int32, String, String, Bool, Bool, Int64).self) {
                workers.append(WorkerRecord(host: host, pid: Int(pid), startedAt: started, lastHeartbeat: heartbeat, isLive: live, hasEnded: ended, itemsHeld: Int(held)))
            }
            return workers
        }
    }

    /// Ends this worker's lease at once, as a paused host would let it run out (tests).
    func expireLeaseForTesting() async throws {
        try await heartbeatConnection?.with { connection in
            try await connection.query("UPDATE batch_runner_workers SET lease_until = now() WHERE id = \(me)", logger: logger)
        }
    }

    // MARK: Intake

    package func withIntakeLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        // A session lock on a connection of its own, held while `body` reads (or checks) the intake on others.
        let key = "batch-runner intake " + campaign
        return try await connections.with { connection in
            try await connection.query("SELECT pg_advisory_lock(hashtext(\(key)))", logger: logger)
            do {
                let result = try await body()
                try await connection.query("SELECT pg_advisory_unlock(hashtext(\(key)))", logger: logger)
                return result
            } catch {
                try? await connection.query("SELECT pg_advisory_unlock(hashtext(\(key)))", logger: logger)
                throw error
            }
        }
    }
}
