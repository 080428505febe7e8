import Foundation
package import Logging
import NIOCore
import PostgresNIO
package import RateLimiter
import Synchronization

/// The checkpoint store in a PostgreSQL database, shared by every worker of a campaign (postgres-nio).
///
/// - Each worker registers in `batch_runner_workers` with a lease that its heartbeat (``maintain()``, a child task
///   of the run) renews every third of `lease:`, reconnecting when its connection is lost. A claim
///   (`FOR UPDATE SKIP LOCKED`) marks items with the worker as their owner, and succeeds only while the claiming
///   worker's own lease runs (checked in the same statement); an item whose owner's lease ran out is pending again
///   for anyone, and one it left `sending` becomes `unknown`.
/// - A worker whose lease could not be renewed before it ran out sends nothing more (``WorkerLease``) and stops
///   (exit 75); its answers still arriving are committed only for items nobody else holds.
/// - Every multi-row update locks its rows in id order (or skips locked ones), so workers never deadlock; a
///   conflict that happens anyway runs the transaction again.
/// - Every instant that decides a lease is the database's `now()`: the workers' own clocks never disagree.
/// - Saved files are kept with their bytes, so `export` can write a complete output folder from the store alone.
package final class PostgresCheckpointStore: CheckpointStore {
    let connections: PostgresConnections
    let campaign: String
    let outputFolder: String
    let leaseSeconds: Double
    /// This worker's row in `batch_runner_workers`, while it works the campaign.
    let workerID: Int64?
    /// This worker's lease, as the heartbeat last renewed it (nil for a store opened only to read).
    package let workerLease: WorkerLease?
    /// How the heartbeat opens a connection of its own (again, after a loss).
    private let openHeartbeatConnection: @Sendable () async throws -> PostgresConnections
    /// How the sweep of dead workers' sends opens a connection of its own.
    private let openSweepConnection: @Sendable () async throws -> PostgresConnections
    var logger: Logger { connections.logger }
    var clock: EngineClock { connections.clock }

    /// Opens the store: connects, migrates, and (for ``StoreAccess/run``) registers this worker. Its heartbeat runs
    /// in ``maintain()``, which the run drives.
    ///
    /// - Parameters:
    ///   - stateTimeout: The deadline of every operation (`state_timeout`).
    ///   - clock: What deadlines and the heartbeat wait on.
    /// - Throws: ``StoreError/databaseUnavailable(location:reason:)`` when the server cannot be used.
    package static func open(
        _ location: PostgresLocation, password: String?, trust: TrustSettings, campaign: String, lease: Duration,
        stateTimeout: Duration = .seconds(30), clock: EngineClock = .continuous, outputFolder: String, access: StoreAccess,
        logger: Logger
    ) async throws -> PostgresCheckpointStore {
        let workerLease = access == .run
            ? WorkerLease(duration: lease, registeredAt: clock.now, clock: clock, lost: .claimLost(location: location.description)) : nil
        // Claims and commits, and the shared quota, each get a connection: none waits on another.
        let connections = try await PostgresConnections.open(
            location, password: password, trust: trust, count: access == .run ? 3 : 1, timeout: stateTimeout, clock: clock,
            lease: workerLease, logger: logger
        )
        do {
            try await PostgresSchema.migrate(connections)
            let leaseSeconds = lease.seconds
            var workerID: Int64?
            if access == .run {
                workerLease?.renewed(at: clock.now)
                workerID = try await connections.with("register this worker") { connection in
                    let host = ProcessInfo.processInfo.hostName
                    let pid = Int(getpid())
                    let rows = try await connection.query(
                        """
                        INSERT INTO batch_runner_workers (campaign, host, pid, lease_until)
                        VALUES (\(campaign), \(host), \(pid), now() + make_interval(secs => \(leaseSeconds)))
                        RETURNING id
                        """
                    )
                    return try rows.decode(Int64.self).first
                }
            }
            // The heartbeat's deadline leaves time to renew before the lease runs out.
            let heartbeatTimeout = min(stateTimeout, lease / 2)
            return PostgresCheckpointStore(
                connections: connections, campaign: campaign, outputFolder: outputFolder, leaseSeconds: leaseSeconds,
                workerID: workerID,
                workerLease: workerLease,
                openHeartbeatConnection: {
                    try await PostgresConnections.open(
                        location, password: password, trust: trust, count: 1, timeout: heartbeatTimeout, clock: clock, role: "heartbeat",
                        logger: logger
                    )
                },
                openSweepConnection: {
                    try await PostgresConnections.open(
                        location, password: password, trust: trust, count: 1, timeout: stateTimeout, clock: clock, role: "sweep",
                        logger: logger
                    )
                }
            )
        } catch {
            await connections.close()
            throw error
        }
    }

    private init(
        connections: PostgresConnections, campaign: String, outputFolder: String, leaseSeconds: Double, workerID: Int64?,
        workerLease: WorkerLease?, openHeartbeatConnection: @escaping @Sendable () async throws -> PostgresConnections,
        openSweepConnection: @escaping @Sendable () async throws -> PostgresConnections
    ) {
        self.connections = connections
        self.campaign = campaign
        self.outputFolder = outputFolder
        self.leaseSeconds = leaseSeconds
        self.workerID = workerID
        self.workerLease = workerLease
        self.openHeartbeatConnection = openHeartbeatConnection
        self.openSweepConnection = openSweepConnection
    }

    /// This worker's id, or -1 for a store opened only to read (it owns nothing).
    var me: Int64 { workerID ?? -1 }

    package var isShared: Bool { true }
    package var claimSize: Int { 64 }
    package var sharedQuota: (any SharedQuotaLedger)? { self }

    // MARK: Runs and claims

    /// The heartbeat, until the run cancels it: renews the lease every third of it on a connection of its own
    /// (opened again after a loss). Beside it, on another connection and with the full `state_timeout`, the items
    /// that dead workers left `sending` become `unknown`, so their rows are settled soon after their lease runs
    /// out; that sweep reads the campaign's finished items, so it never holds up a renewal.
    ///
    /// - Throws: ``StoreError/claimLost(location:)`` when the lease ran out before it could be renewed (the host
    ///   paused, the database did not answer): other workers may hold this worker's items now.
    package func maintain() async throws {
        guard let workerID, let workerLease else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.renewLease(workerID: workerID, lease: workerLease) }
            group.addTask { try await self.settleDeadSendsWhileRunning() }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func renewLease(workerID: Int64, lease workerLease: WorkerLease) async throws {
        let leaseSeconds = self.leaseSeconds
        try await repeatedly(on: openHeartbeatConnection) { connections in
            let sentAt = clock.now
            // Only a running lease is renewed: once it ran out, other workers may have taken this worker's items.
            let renewed = try await connections.with("renew this worker's lease") { connection in
                try await connection.query(
                    """
                    UPDATE batch_runner_workers SET heartbeat_at = now(), lease_until = now() + make_interval(secs => \(leaseSeconds))
                    WHERE id = \(workerID) AND ended_at IS NULL AND lease_until > now() RETURNING id
                    """
                ).count == 1
            }
            guard renewed else {
                workerLease.markLost()
                throw workerLease.lostError
            }
            workerLease.renewed(at: sentAt)
        } onTrouble: { error in
            logger.warning("the heartbeat could not renew the lease; it connects again", metadata: ["error": "\(error)"])
            if workerLease.hasExpired(at: clock.now) {
                workerLease.markLost()
                throw workerLease.lostError
            }
        }
    }

    private func settleDeadSendsWhileRunning() async throws {
        let campaign = self.campaign
        try await repeatedly(on: openSweepConnection) { connections in
            _ = try await Self.settleDeadSends(connections: connections, campaign: campaign, error: JobRunner.interruptedSendError)
        } onTrouble: { error in
            logger.debug("the sweep of dead workers' sends could not reach the state database; it connects again", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `step` every third of the lease on a connection of its own, opened again after connection trouble
    /// (which `onTrouble` hears first, and may turn into an error that ends the loop); any other error ends it.
    /// Closes the connection when cancelled.
    private func repeatedly(
        on open: @Sendable () async throws -> PostgresConnections,
        _ step: (PostgresConnections) async throws -> Void,
        onTrouble: (StoreError) throws -> Void
    ) async throws {
        var current: PostgresConnections?
        do {
            while true {
                try await clock.sleep(for: .seconds(leaseSeconds / 3))
                do {
                    let connections: PostgresConnections
                    if let usable = current, usable.isUsable {
                        connections = usable
                    } else {
                        await current?.close()
                        current = nil
                        connections = try await open()
                        current = connections
                    }
                    try await step(connections)
                } catch let error as StoreError where error.isConnectionTrouble {
                    await current?.close()
                    current = nil
                    try onTrouble(error)
                }
            }
        } catch {
            await current?.close()
            if error is CancellationError { return }
            throw error
        }
    }

    /// Ends this worker's run: its unfinished claims go back to pending and it is no longer live.
    package func endRun() async {
        guard let workerID else { return }
        try? await connections.with("end this worker's run", transaction: .retryingConflicts) { connection in
            try await connection.query(
                """
                WITH mine AS (
                    SELECT id FROM batch_runner_work WHERE campaign = \(campaign) AND owner = \(workerID) AND state = 0 ORDER BY id FOR UPDATE
                )
                UPDATE batch_runner_work w SET owner = NULL FROM mine WHERE w.campaign = \(campaign) AND w.id = mine.id
                """
            )
            try await connection.query(
                "UPDATE batch_runner_workers SET ended_at = now(), lease_until = now() WHERE id = \(workerID)"
            )
        }
    }

    /// Closes the connections.
    package func close() async {
        await connections.close()
    }

    package func isRunActive() async throws -> Bool {
        try await workers().contains { $0.isLive && !$0.hasEnded }
    }

    /// Claims only while this worker's own lease runs, in the same statement.
    ///
    /// - Throws: ``StoreError/claimLost(location:)`` when this worker's lease ran out.
    package func claim(limit: Int) async throws -> [WorkItem] {
        try await workerLease?.permit()
        let (campaign, me) = (self.campaign, self.me)
        let (items, isLive) = try await connections.with("claim rows") { connection in
            let rows = try await connection.query(
                """
                WITH claimed AS (
                    SELECT p.id FROM batch_runner_work p
                    WHERE EXISTS (
                            SELECT 1 FROM batch_runner_workers m WHERE m.id = \(me) AND m.lease_until > now() AND m.ended_at IS NULL)
                        AND p.campaign = \(campaign) AND p.state = 0
                        AND (p.owner IS NULL OR NOT EXISTS (
                            SELECT 1 FROM batch_runner_workers k WHERE k.id = p.owner AND k.lease_until > now() AND k.ended_at IS NULL))
                    ORDER BY p.id LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE batch_runner_work w SET owner = \(me)
                FROM claimed
                WHERE w.campaign = \(campaign) AND w.id = claimed.id
                RETURNING w.id, w.value, w.payload, w.attempts
                """
            )
            let items = try rows.decode((Int64, String, String?, Int32).self).map { id, value, payload, attempts in
                WorkItem(id: id, value: value, payload: payload, attempts: Int(attempts))
            }
            guard items.isEmpty else { return (items, true) }
            // Nothing claimed: because nothing is left, or because this worker's lease ran out.
            let live = try await connection.query(
                "SELECT 1 FROM batch_runner_workers WHERE id = \(me) AND lease_until > now() AND ended_at IS NULL"
            )
            return (items, live.count == 1)
        }
        guard isLive else {
            workerLease?.markLost()
            throw StoreError.claimLost(location: connections.location.description)
        }
        return items.sorted { $0.id < $1.id }
    }

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
