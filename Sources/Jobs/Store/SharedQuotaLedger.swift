package import RateLimiter

/// Where a store keeps the quotas its workers share (one ``SharedQuota`` per limiter: API host and credential).
package protocol SharedQuotaLedger: Sendable {
    /// Runs `change` on `limiter`'s shared quota under its lock (a fresh one when there is none) and saves what it
    /// made of it, in one transaction; answers what `change` answered.
    func update<T: Sendable>(_ limiter: String, _ change: @Sendable (inout SharedQuota) -> T) async throws -> T
}
