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

    /// Turns items left `sending` by workers that are gone (ended, or their lease ran out) into `unknown`. The
    /// `state <> 0` names the partial index of finished items, so the heartbeat never reads the whole campaign.
    static func settleDeadSends(connections: PostgresConnections, campaign: String, error: String) async throws -> Int {
        try await connections.with { connection in
            let rows = try await connection.query(
                """
                UPDATE batch_runner_work w SET state = 3, error = \(error), owner = NULL, updated_at = now()
                WHERE w.campaign = \(campaign) AND w.state <> 0 AND w.state = 4
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

}
