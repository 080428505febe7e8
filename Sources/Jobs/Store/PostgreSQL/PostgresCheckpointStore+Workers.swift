import Logging
import PostgresNIO

/// What a worker learns about the others of its campaign, and the intake lock they share.
extension PostgresCheckpointStore {
    package func unfinishedItemsElsewhere() async throws -> Int {
        try await connections.with("count the rows other workers hold") { connection in
            let rows = try await connection.query(
                """
                SELECT count(*) FROM batch_runner_work
                WHERE campaign = \(campaign) AND state IN (0, 4) AND (owner IS NULL OR owner <> \(me))
                """,
                logger: logger
            )
            for count in try rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    package func workers() async throws -> [WorkerRecord] {
        try await connections.with("list the workers") { connection in
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
            for (host, pid, started, heartbeat, live, ended, held) in try rows.decode((String, Int32, String, String, Bool, Bool, Int64).self) {
                workers.append(WorkerRecord(host: host, pid: Int(pid), startedAt: started, lastHeartbeat: heartbeat, isLive: live, hasEnded: ended, itemsHeld: Int(held)))
            }
            return workers
        }
    }

    package func liveWorkersElsewhere() async throws -> Int {
        let (campaign, me) = (self.campaign, self.me)
        return try await connections.with("count the other live workers") { connection in
            try await connection.query(
                """
                SELECT 1 FROM batch_runner_workers
                WHERE campaign = \(campaign) AND id <> \(me) AND ended_at IS NULL AND lease_until > now()
                """
            ).count
        }
    }

    /// Ends this worker's lease at once, as a paused host would let it run out (tests).
    func expireLeaseForTesting() async throws {
        let me = self.me
        try await connections.with("expire the lease") { connection in
            try await connection.query("UPDATE batch_runner_workers SET lease_until = now() WHERE id = \(me)")
        }
    }

    // MARK: Intake

    /// The first worker to start reads the manifest; the others wait here. The wait polls a session lock with
    /// `pg_try_advisory_lock` (each try an operation with its deadline, the pauses cancellable), so a worker
    /// waiting behind a long intake, or a paused one, never hangs on the database.
    package func withIntakeLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        // A session lock on a connection of its own, held while `body` reads (or checks) the intake on others.
        let key = "batch-runner intake " + campaign
        return try await connections.withHeldConnection("take the campaign's intake lock") { connection in
            while true {
                let taken = try await connections.on(connection, "take the campaign's intake lock") { connection in
                    try await connection.query("SELECT pg_try_advisory_lock(hashtext(\(key)))").decode(Bool.self).first ?? false
                }
                if taken { break }
                try await clock.sleep(for: Self.intakeLockPoll)
            }
            do {
                let result = try await body()
                try await connections.on(connection, "release the campaign's intake lock") { connection in
                    try await connection.query("SELECT pg_advisory_unlock(hashtext(\(key)))")
                }
                return result
            } catch {
                _ = try? await connections.on(connection, "release the campaign's intake lock") { connection in
                    try await connection.query("SELECT pg_advisory_unlock(hashtext(\(key)))")
                }
                throw error
            }
        }
    }

    /// How often a worker waiting for another's intake tries the lock.
    static let intakeLockPoll = Duration.milliseconds(250)
}
