import Logging
import PostgresNIO
package import RateLimiter

/// The quotas: each limiter's last saved state, and the ledger every worker on the same credential shares.
extension PostgresCheckpointStore {
    // MARK: Quota

    package func allQuotas() async throws -> [StoredQuota] {
        try await connections.with("read the quotas") { connection in
            let rows = try await connection.query(
                """
                SELECT limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset, learned_rate, learned_window
                FROM batch_runner_quota ORDER BY limiter
                """,
                logger: logger
            )
            var quotas: [StoredQuota] = []
            for (limiter, limit, used, window, reset, offset, rate, learnedWindow) in try rows.decode(
                (String, Int32?, Int32, Double?, Double?, Double, Double?, Double?).self
            ) {
                quotas.append(
                    StoredQuota(
                        limiter: limiter, limit: limit.map(Int.init), used: Int(used), windowSeconds: window, resetEpochSeconds: reset,
                        serverClockOffset: offset, learnedRate: rate, learnedWindowSeconds: learnedWindow
                    )
                )
            }
            return quotas
        }
    }

    package func quota(for limiter: String) async throws -> StoredQuota? {
        try await allQuotas().first { $0.limiter == limiter }
    }

    package func saveQuota(_ quota: StoredQuota) async throws {
        try await connections.with("save the quota") { connection in try await Self.save(quota, on: connection, logger: logger) }
    }

    static func save(_ quota: StoredQuota, on connection: StateConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO batch_runner_quota
                (limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset, learned_rate, learned_window)
            VALUES (
                \(quota.limiter), \(quota.limit.map { Int32(clamping: $0) }), \(Int32(clamping: quota.used)), \(quota.windowSeconds),
                \(quota.resetEpochSeconds), \(quota.serverClockOffset), \(quota.learnedRate), \(quota.learnedWindowSeconds)
            )
            ON CONFLICT (limiter) DO UPDATE SET quota_limit = EXCLUDED.quota_limit, used = EXCLUDED.used,
                window_seconds = EXCLUDED.window_seconds, reset_epoch = EXCLUDED.reset_epoch,
                server_clock_offset = EXCLUDED.server_clock_offset, learned_rate = EXCLUDED.learned_rate,
                learned_window = EXCLUDED.learned_window
            """,
            logger: logger
        )
    }
}

extension PostgresCheckpointStore: SharedQuotaLedger {
    package func update<T: Sendable>(_ limiter: String, _ change: @Sendable (inout SharedQuota) -> T) async throws -> T {
        try await connections.with("update the shared quota", transaction: .retryingConflicts) { connection in
            try await connection.query(
                "INSERT INTO batch_runner_shared_quota (limiter) VALUES (\(limiter)) ON CONFLICT (limiter) DO NOTHING",
                logger: logger
            )
            let rows = try await connection.query(
                """
                SELECT quota_limit, window_seconds, reset_epoch, granted, paused_until, probe_until, headerless_until, ended_reset,
                    adaptive_rate, next_slot, successes, successes_since, successes_until, throttles, generation
                FROM batch_runner_shared_quota WHERE limiter = \(limiter) FOR UPDATE
                """,
                logger: logger
            )
            var quota = SharedQuota()
            let columns = (Int32?, Double?, Double?, Int32, Double?, Double?, Double?, Double?, Double?, Double?, Int32, Double?, Double?, Int32, Int32).self
            for row in rows.result {
                let (limit, window, reset, granted, paused, probe, headerless, ended, rate, nextSlot, successes, since, until, throttles, generation) =
                    try row.decode(columns)
                quota.limit = limit.map(Int.init)
                (quota.windowSeconds, quota.resetEpoch, quota.granted) = (window, reset, Int(granted))
                (quota.pausedUntil, quota.probeUntil, quota.headerlessUntil, quota.endedReset) = (paused, probe, headerless, ended)
                (quota.adaptiveRate, quota.nextSlot, quota.successes) = (rate, nextSlot, Int(successes))
                (quota.successesSince, quota.successesUntil) = (since, until)
                (quota.throttles, quota.generation) = (Int(throttles), Int(generation))
            }
            let answer = change(&quota)
            try await connection.query(
                """
                UPDATE batch_runner_shared_quota SET quota_limit = \(quota.limit.map { Int32(clamping: $0) }), window_seconds = \(quota.windowSeconds),
                    reset_epoch = \(quota.resetEpoch), granted = \(Int32(clamping: quota.granted)), paused_until = \(quota.pausedUntil),
                    probe_until = \(quota.probeUntil), headerless_until = \(quota.headerlessUntil),
                    ended_reset = \(quota.endedReset), adaptive_rate = \(quota.adaptiveRate), next_slot = \(quota.nextSlot),
                    successes = \(Int32(clamping: quota.successes)), successes_since = \(quota.successesSince),
                    successes_until = \(quota.successesUntil), throttles = \(Int32(clamping: quota.throttles)),
                    generation = \(Int32(clamping: quota.generation))
                WHERE limiter = \(limiter)
                """,
                logger: logger
            )
            return answer
        }
    }
}
