/// Send-rate control for servers that publish no quota headers and only answer 429.
///
/// Inactive (no limit beyond concurrency) until the first rate-limit answer, as the AWS SDKs' adaptive retry mode
/// is. Then: multiplicative decrease to `decrease` times the measured send rate on every rate-limit answer, and a
/// gentle multiplicative increase on every success, tuned so that climbing back to the rate that was throttled
/// takes about `successesPerThrottle` successes. A server that throttles at a fixed rate therefore sees about one
/// rate-limit answer per that many requests (2% with the default of 50).
struct AdaptiveRate<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    var decrease = 0.8
    var successesPerThrottle = 50.0
    private(set) var ratePerSecond: Double?
    private var nextSend: Instant?
    private var recentSends: [Instant] = []

    var isActive: Bool { ratePerSecond != nil }

    /// Until when the next request must wait, or nil to send now.
    func sendTime(at now: Instant) -> Instant? {
        guard let nextSend, now < nextSend else { return nil }
        return nextSend
    }

    mutating func recordSend(at now: Instant) {
        recentSends.append(now)
        if recentSends.count > 32 { recentSends.removeFirst(recentSends.count - 32) }
        guard let ratePerSecond else { return }
        let spacing = Duration.seconds(1 / ratePerSecond)
        let earliest = nextSend.map { max($0, now) } ?? now
        nextSend = earliest.advanced(by: spacing)
    }

    mutating func recordSuccess() {
        guard let ratePerSecond else { return }
        self.ratePerSecond = ratePerSecond * (1 + (1 - decrease) / successesPerThrottle)
    }

    mutating func recordThrottle(at now: Instant) {
        let measured = measuredRate(at: now)
        let base = [ratePerSecond, measured].compactMap { $0 }.min() ?? 1
        ratePerSecond = max(base * decrease, 0.05)
    }

    /// Requests per second over the last sends (at most 32 of them).
    private func measuredRate(at now: Instant) -> Double? {
        guard recentSends.count >= 2, let first = recentSends.first else { return nil }
        let span = first.duration(to: now).seconds
        guard span > 0 else { return nil }
        return Double(recentSends.count - 1) / span
    }
}
