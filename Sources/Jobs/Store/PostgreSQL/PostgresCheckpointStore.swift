import Foundation
package import Logging
import NIOCore
import PostgresNIO
package import RateLimiter
import Synchronization

/// The checkpoint store in a PostgreSQL database, shared by every worker of a campaign (postgres-nio).
///
/// - Each worker registers in `batch_runner_workers` with a lease it renews every third of `lease:` (the
///   heartbeat). A claim (`FOR UPDATE SKIP LOCKED`) marks items with the worker as their owner; an item whose
///   owner's lease ran out is pending again for anyone, and one it left `sending` becomes `unknown`.
/// - Every instant that decides a lease is the database's `now()`: the workers' own clocks never disagree.
/// - Saved files are kept with their bytes, so `export` can write a complete output folder from the store alone.
package final class PostgresCheckpointStore: CheckpointStore {
    let connections: PostgresConnections
    /// The heartbeat's own connection: it never queues behind the run's operations.
    let heartbeatConnection: PostgresConnections?
    let campaign: String
    let outputFolder: String
    let leaseSeconds: Double
    /// This worker's row in `batch_runner_workers`, while it works the campaign.
    let workerID: Int64?
    private let heartbeat = Mutex<Task<Void, Never>?>(nil)
    var logger: Logger { connections.logger }

    /// Opens the store: connects, migrates, and (for ``StoreAccess/run``) registers this worker and starts its
    /// heartbeat.
    ///
    /// - Throws: ``StoreError/databaseUnavailable(location:reason:)`` when the server cannot be used.
    package static func open(
        _ location: PostgresLocation, password: String?, trust: TrustSettings, campaign: String, lease: Duration,
        outputFolder: String, access: StoreAccess, logger: Logger
    ) async throws -> PostgresCheckpointStore {
        // Claims and commits, the heartbeat, and the shared quota each get a connection: none waits on another.
        let connections = try await PostgresConnections.open(location, password: password, trust: trust, count: access == .run ? 4 : 1, logger: logger)
        do {
            try await PostgresSchema.migrate(connections)
            let leaseSeconds = lease.seconds
            var workerID: Int64?
            if access == .run {
                workerID = try await connections.with { connection in
                    let host = ProcessInfo.processInfo.hostName
                    let pid = Int(getpid())
                    let rows = try await connection.query(
                        """
                        INSERT INTO batch_runner_workers (campaign, host, pid, lease_until)
                        VALUES (\(campaign), \(host), \(pid), now() + make_interval(secs => \(leaseSeconds)))
                        RETURNING id
                        """,
                        logger: logger
                    )
                    for try await id in rows.decode(Int64.self) { return id }
                    return nil
                }
            }
            let heartbeatConnection = workerID == nil ? nil : try await PostgresConnections.open(location, password: password, trust: trust, count: 1, logger: logger)
            let store = PostgresCheckpointStore(
                connections: connections, heartbeatConnection: heartbeatConnection, campaign: campaign, outputFolder: outputFolder,
                leaseSeconds: leaseSeconds, workerID: workerID
            )
            if workerID != nil { store.startHeartbeat() }
            return store
        } catch {
            await connections.close()
            throw error
        }
    }

    private init(
        connections: PostgresConnections, heartbeatConnection: PostgresConnections?, campaign: String, outputFolder: String,
        leaseSeconds: Double, workerID: Int64?
    ) {
        self.connections = connections
        self.heartbeatConnection = heartbeatConnection
        self.campaign = campaign
        self.outputFolder = outputFolder
        self.leaseSeconds = leaseSeconds
        self.workerID = workerID
    }

    /// This worker's id, or -1 for a store opened only to read (it owns nothing).
    var me: Int64 { workerID ?? -1 }

    package var isShared: Bool { true }
    package var claimSize: Int { 64 }
    package var sharedQuota: (any SharedQuotaLedger)? { self }

    // MARK: Runs and claims

    /// Renews the lease every third of it; also turns what dead workers left `sending` into `unknown`, so their
    /// rows are settled as soon as their lease runs out.
    private func startHeartbeat() {
        let interval = Duration.seconds(leaseSeconds / 3)
        guard let heartbeatConnection else { return }
        let task = Task { [heartbeatConnection, me, leaseSeconds, campaign] in
            let connections = heartbeatConnection
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                do {
                    // Only a running lease is renewed: once it ran out, other workers may have taken this
                    // worker's items, and markSending refuses them.
                    try await connections.with { connection in
                        try await connection.query(
                            """
                            UPDATE batch_runner_workers SET heartbeat_at = now(), lease_until = now() + make_interval(secs => \(leaseSeconds))
                            WHERE id = \(me) AND ended_at IS NULL AND lease_until > now()
                            """,
                            logger: connections.logger
                        )
                    }
                    _ = try await Self.settleDeadSends(connections: connections, campaign: campaign, error: JobRunner.interruptedSendError)
                } catch {
                    connections.logger.warning("the heartbeat could not renew this worker's lease", metadata: ["error": "\(error)"])
                    if case StoreError.connectionLost = error { return }
                }
            }
        }
        heartbeat.withLock { $0 = task }
    }

    /// Ends this worker's run: its unfinished claims go back to pending and it is no longer live. The store stays
    /// open (for reading, or a later run in the same process); its connections close with it.
    package func endRun() async {
        heartbeat.withLock { task in
            task?.cancel()
            task = nil
        }
        if let workerID {
            try? await connections.with(transaction: true) { connection in
                try await connection.query(
                    "UPDATE batch_runner_work SET owner = NULL WHERE campaign = \(campaign) AND owner = \(workerID) AND state = 0",
                    logger: logger
                )
                try await connection.query(
                    "UPDATE batch_runner_workers SET ended_at = now(), lease_until = now() WHERE id = \(workerID)",
                    logger: logger
                )
            }
        }
    }

    deinit {
        let (connections, heartbeatConnection) = (self.connections, self.heartbeatConnection)
        Task {
            await connections.close()
            await heartbeatConnection?.close()
        }
    }

    package func isRunActive() async throws -> Bool {
        try await workers().contains { $0.isLive && !$0.hasEnded }
    }

    package func claim(limit: Int) async throws -> [WorkItem] {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                WITH claimed AS (
                    SELECT p.id FROM batch_runner_work p
                    WHERE p.campaign = \(campaign) AND p.state = 0
                        AND (p.owner IS NULL OR NOT EXISTS (
                            SELECT 1 FROM batch_runner_workers k WHERE k.id = p.owner AND k.lease_until > now() AND k.ended_at IS NULL))
                    ORDER BY p.id LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE batch_runner_work w SET owner = \(me)
                FROM claimed
                WHERE w.campaign = \(campaign) AND w.id = claimed.id
                RETURNING w.id, w.value, w.payload, w.attempts
                """,
                logger: logger
            )
            var items: [WorkItem] = []
            for try await (id, value, payload, attempts) in rows.decode((Int64, String, String?, Int32).self) {
                items.append(WorkItem(id: id, value: value, payload: payload, attempts: Int(attempts)))
            }
            return items.sorted { $0.id < $1.id }
        }
    }

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

    // MARK: Work

    /// Marks the item `sending` only while this worker still owns it: a worker whose lease ran out (a pause, a
    /// slow database) and whose item another worker took over must not send it too.
    ///
    /// - Throws: ``StoreError/claimLost(location:)`` when the item is no longer this worker's.
    package func markSending(_ id: Int64) async throws {
        let marked = try await connections.with { connection in
            let rows = try await connection.query(
                "UPDATE batch_runner_work SET state = 4 WHERE campaign = \(campaign) AND id = \(id) AND state = 0 AND owner = \(me) RETURNING id",
                logger: logger
            )
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
        guard marked == 1 else { throw StoreError.claimLost(location: connections.location.description) }
    }

    package func settleInterruptedSends(error: String) async throws -> Int {
        try await Self.settleDeadSends(connections: connections, campaign: campaign, error: error)
    }

    /// Turns items left `sending` by workers that are gone (ended, or their lease ran out) into `unknown`.
    static func settleDeadSends(connections: PostgresConnections, campaign: String, error: String) async throws -> Int {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                UPDATE batch_runner_work w SET state = 3, error = \(error), owner = NULL, updated_at = now()
                WHERE w.campaign = \(campaign) AND w.state = 4
                    AND (w.owner IS NULL OR NOT EXISTS (
                        SELECT 1 FROM batch_runner_workers k WHERE k.id = w.owner AND k.lease_until > now() AND k.ended_at IS NULL))
                RETURNING w.id
                """,
                logger: connections.logger
            )
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
    }

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
        try await connections.with(transaction: !files.isEmpty || quota != nil) { connection in
            if !completions.isEmpty {
                // A completion counts when this worker still owns the item, or when nobody finished it since (its
                // lease ran out and it was taken over, or settled `unknown`): a late answer is never lost, and an
                // item finished by another worker is not overwritten.
                try await connection.query(
                    """
                    UPDATE batch_runner_work w SET state = u.state, attempts = u.attempts,
                        result = CASE WHEN u.has_result THEN u.result END, error = CASE WHEN u.has_error THEN u.error END,
                        updated_at = now(), owner = NULL
                    FROM unnest(\(completions.map(\.id)), \(completions.map { Int64($0.state.rawValue) }), \(completions.map { Int64($0.attempts) }),
                        \(completions.map { StoredFields.encode($0.result) ?? "" }), \(completions.map { $0.result != nil }),
                        \(completions.map { $0.error ?? "" }), \(completions.map { $0.error != nil }))
                        AS u(id, state, attempts, result, has_result, error, has_error)
                    WHERE w.campaign = \(campaign) AND w.id = u.id AND (w.owner = \(me) OR w.state NOT IN (1, 2))
                    """,
                    logger: logger
                )
            }
            if !files.isEmpty {
                // A row completed again keeps only its latest files.
                try await connection.query(
                    "DELETE FROM batch_runner_files WHERE campaign = \(campaign) AND work_id = ANY(\(completions.filter { !$0.files.isEmpty }.map(\.id)))",
                    logger: logger
                )
            }
            for (work, file, content) in files {
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
                    """,
                    logger: logger
                )
            }
            if let quota { try await Self.save(quota, on: connection, logger: logger) }
        }
    }

    package func requeue(_ states: [WorkState]) async throws -> Int {
        guard !states.isEmpty else { return 0 }
        return try await connections.with { connection in
            let rows = try await connection.query(
                """
                UPDATE batch_runner_work SET state = 0, error = NULL, owner = NULL
                WHERE campaign = \(campaign) AND state = ANY(\(states.map { Int64($0.rawValue) }))
                RETURNING id
                """,
                logger: logger
            )
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
    }

    package func counts() async throws -> StateCounts {
        try await connections.with { connection in
            var counts = StateCounts()
            let totals = try await connection.query(
                "SELECT rows, rejected FROM batch_runner_campaigns WHERE campaign = \(campaign) AND manifest_sha256 IS NOT NULL",
                logger: logger
            )
            for try await (rows, rejected) in totals.decode((Int64, Int64).self) {
                (counts.rows, counts.rejected) = (Int(rows), Int(rejected))
            }
            let states = try await connection.query(
                "SELECT state::int8, sum(1 + shared_rows)::int8, count(*) FROM batch_runner_work WHERE campaign = \(campaign) GROUP BY state",
                logger: logger
            )
            for try await (state, rows, items) in states.decode((Int64, Int64, Int64).self) {
                switch WorkState(rawValue: Int(state)) {
                case .succeeded: counts.succeeded += Int(rows)
                case .failed: counts.failed += Int(rows)
                case .unknown, .sending: counts.unknown += Int(rows)
                case .pending, nil:
                    counts.pending += Int(rows)
                    counts.pendingWork += Int(items)
                }
            }
            return counts
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

    // MARK: Quota

    package func allQuotas() async throws -> [StoredQuota] {
        try await connections.with { connection in
            let rows = try await connection.query(
                "SELECT limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset FROM batch_runner_quota ORDER BY limiter",
                logger: logger
            )
            var quotas: [StoredQuota] = []
            for try await (limiter, limit, used, window, reset, offset) in rows.decode((String, Int32, Int32, Double?, Double?, Double).self) {
                quotas.append(StoredQuota(limiter: limiter, limit: Int(limit), used: Int(used), windowSeconds: window, resetEpochSeconds: reset, serverClockOffset: offset))
            }
            return quotas
        }
    }

    package func quota(for limiter: String) async throws -> StoredQuota? {
        try await allQuotas().first { $0.limiter == limiter }
    }

    package func saveQuota(_ quota: StoredQuota) async throws {
        try await connections.with { connection in try await Self.save(quota, on: connection, logger: logger) }
    }

    private static func save(_ quota: StoredQuota, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO batch_runner_quota (limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset)
            VALUES (\(quota.limiter), \(Int32(clamping: quota.limit)), \(Int32(clamping: quota.used)), \(quota.windowSeconds), \(quota.resetEpochSeconds), \(quota.serverClockOffset))
            ON CONFLICT (limiter) DO UPDATE SET quota_limit = EXCLUDED.quota_limit, used = EXCLUDED.used,
                window_seconds = EXCLUDED.window_seconds, reset_epoch = EXCLUDED.reset_epoch,
                server_clock_offset = EXCLUDED.server_clock_offset
            """,
            logger: logger
        )
    }
}

extension PostgresCheckpointStore: SharedQuotaLedger {
    package func update<T: Sendable>(_ limiter: String, _ change: @Sendable (inout SharedQuota) -> T) async throws -> T {
        try await connections.with(transaction: true) { connection in
            try await connection.query(
                "INSERT INTO batch_runner_shared_quota (limiter) VALUES (\(limiter)) ON CONFLICT (limiter) DO NOTHING",
                logger: logger
            )
            let rows = try await connection.query(
                """
                SELECT quota_limit, window_seconds, reset_epoch, granted, paused_until, probe_until, headerless_until, ended_reset
                FROM batch_runner_shared_quota WHERE limiter = \(limiter) FOR UPDATE
                """,
                logger: logger
            )
            var quota = SharedQuota()
            for try await (limit, window, reset, granted, paused, probe, headerless, ended) in rows.decode((Int32?, Double?, Double?, Int32, Double?, Double?, Double?, Double?).self) {
                quota.limit = limit.map(Int.init)
                (quota.windowSeconds, quota.resetEpoch, quota.granted) = (window, reset, Int(granted))
                (quota.pausedUntil, quota.probeUntil, quota.headerlessUntil, quota.endedReset) = (paused, probe, headerless, ended)
            }
            let answer = change(&quota)
            try await connection.query(
                """
                UPDATE batch_runner_shared_quota SET quota_limit = \(quota.limit.map { Int32(clamping: $0) }), window_seconds = \(quota.windowSeconds),
                    reset_epoch = \(quota.resetEpoch), granted = \(Int32(clamping: quota.granted)), paused_until = \(quota.pausedUntil),
                    probe_until = \(quota.probeUntil), headerless_until = \(quota.headerlessUntil),
                    ended_reset = \(quota.endedReset)
                WHERE limiter = \(limiter)
                """,
                logger: logger
            )
            return answer
        }
    }
}
