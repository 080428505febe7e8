import Foundation
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
                "SELECT state FROM batch_runner_shared_quota WHERE limiter = \(limiter) FOR UPDATE",
                logger: logger
            )
            var quota = SharedQuota()
            for state in try rows.decode(String?.self) {
                // A ledger this runner cannot read (written by an older one) starts over.
                if let state, let saved = try? JSONDecoder().decode(SharedQuota.self, from: Data(state.utf8)) { quota = saved }
            }
            let answer = change(&quota)
            let state = String(decoding: try JSONEncoder().encode(quota), as: UTF8.self)
            try await connection.query(
                "UPDATE batch_runner_shared_quota SET state = \(state) WHERE limiter = \(limiter)",
                logger: logger
            )
            return answer
        }
    }
}
