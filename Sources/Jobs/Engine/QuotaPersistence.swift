import Crypto
import Foundation
import RateLimiter

/// Keeps a limiter's quota across runs: saved with every commit (in the service's time, so the next run can judge
/// it against its own clock), restored at the start, so a run started while the window is still spent waits or
/// stops without sending anything.
struct QuotaPersistence: Sendable {
    /// Which limiter: the API host and a digest of the credential's id (never the secret).
    let key: String
    let serverClock: ServerClock
    let wallClock: WallClock

    init(base: String, clientID: String, serverClock: ServerClock, wallClock: WallClock) {
        let host = URLComponents(string: base).map { "\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" } ?? base
        let digest = SHA256.hash(data: Data(clientID.utf8)).hexString.prefix(16)
        self.key = "\(host)|\(digest)"
        self.serverClock = serverClock
        self.wallClock = wallClock
    }

    /// Restores the last saved quota into `limiter` while its window has not reset (unless `ignoringWindow`), and
    /// the rate learned from a gateway without quota headers (whatever its age: the gateway's limit belongs to the
    /// credential); answers what was restored and, for a quota, the seconds to its reset.
    func restore(
        into limiter: RateLimiter<EngineClock>, from store: any CheckpointStore, ignoringWindow: Bool = false
    ) async throws -> (quota: StoredQuota, resetIn: Double?)? {
        guard let stored = try await store.quota(for: key) else { return nil }
        if let rate = stored.learnedRate {
            limiter.restoreLearnedRate(perSecond: rate, window: stored.learnedWindowSeconds.map { .seconds($0) })
            return (stored, nil)
        }
        guard !ignoringWindow, let limit = stored.limit, let resetIn = stored.resetIn(atLocal: wallClock.epochSeconds), resetIn > 0 else { return nil }
        limiter.restore(limit: limit, used: stored.used, resetIn: .seconds(resetIn), window: stored.windowSeconds.map { .seconds($0) })
        return (stored, resetIn)
    }

    /// The limiter's quota as it stands, to save; nil while no answer told the limit and no rate was learned.
    func snapshot(of limiter: RateLimiter<EngineClock>) -> StoredQuota? {
        let snapshot = limiter.snapshot
        let offset = serverClock.offsetSeconds
        if snapshot.limit == nil, let rate = snapshot.learnedRate {
            return StoredQuota(
                limiter: key, limit: nil, used: 0, windowSeconds: nil, resetEpochSeconds: nil, serverClockOffset: offset,
                learnedRate: rate, learnedWindowSeconds: snapshot.learnedWindow?.seconds
            )
        }
        guard let limit = snapshot.limit else { return nil }
        return StoredQuota(
            limiter: key,
            limit: limit,
            used: snapshot.used,
            windowSeconds: snapshot.window?.seconds,
            resetEpochSeconds: snapshot.resetIn.map { wallClock.epochSeconds + offset + $0.seconds },
            serverClockOffset: offset
        )
    }
}
