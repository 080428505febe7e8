import Logging
import PostgresNIO

/// The worker's background work during a run: the lease's heartbeat and the sweep of dead workers' sends.
extension PostgresCheckpointStore {
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
}
