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
    let openHeartbeatConnection: @Sendable () async throws -> PostgresConnections
    /// How the sweep of dead workers' sends opens a connection of its own.
    let openSweepConnection: @Sendable () async throws -> PostgresConnections
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
        if let warning = location.weakTLSWarning { logger.warning("\(warning)") }
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
}
