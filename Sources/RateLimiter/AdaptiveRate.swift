/// Send-rate control for servers that publish no quota headers and only answer 429.
///
/// - Slow start: before the first rate-limit answer there is no rate, only a cap on requests in flight that
///   starts at one and grows by one with every success (so a spike-arresting gateway meets one early 429, not a
///   burst of `concurrency`), until the cap no longer matters.
/// - On every rate-limit answer the rate becomes `decrease` times the sustainable rate seen so far: the successes
///   of the last `horizon` (a minute) over that time, or the current rate if that is lower.
/// - Every success raises the rate gently, so that climbing back to the rate that was throttled takes about
///   `successesPerThrottle` successes: a server that throttles at a steady rate sees about one rate-limit answer
///   per that many requests (under 2% with the default of 60).
struct AdaptiveRate<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    var decrease = 0.8
    var successesPerThrottle = 60.0
    var horizon = Duration.seconds(60)
    /// No rate falls below this many requests per second.
    var floor = 0.05
    /// Requests per second once throttled; nil before the first rate-limit answer.
    private(set) var ratePerSecond: Double?
    /// Slow start's cap on requests in flight; nil once it has grown past any concurrency, or after a throttle.
    private(set) var inFlightCap: Int? = 1
    private var nextSend: Instant?
    private var firstSend: Instant?
    /// Success instants within the horizon, oldest first (at most `successCapacity`).
    private var successes: [Instant] = []
    private var successStart = 0
    private static var successCapacity: Int { 1_024 }

    var isActive: Bool { ratePerSecond != nil }

    /// Whether slow start lets another request join `inFlight` others.
    func allowsAnother(inFlight: Int) -> Bool { inFlightCap.map { inFlight < $0 } ?? true }

    /// Until when the next request must wait, or nil to send now.
    func sendTime(at now: Instant) -> Instant? {
        guard let nextSend, now < nextSend else { return nil }
        return nextSend
    }

    mutating func recordSend(at now: Instant) {
        if firstSend == nil { firstSend = now }
        guard let ratePerSecond else { return }
        let earliest = nextSend.map { max($0, now) } ?? now
        nextSend = earliest.advanced(by: .seconds(1 / ratePerSecond))
    }

    mutating func recordSuccess(at now: Instant) {
        if successes.count < Self.successCapacity {
            successes.append(now)
        } else {
            successes[successStart] = now
            successStart = (successStart + 1) % Self.successCapacity
        }
        if let ratePerSecond {
            self.ratePerSecond = ratePerSecond * (1 + (1 - decrease) / successesPerThrottle)
        } else if let inFlightCap {
            self.inFlightCap = inFlightCap >= 256 ? nil : inFlightCap + 1
        }
    }

    mutating func recordThrottle(at now: Instant) {
        inFlightCap = nil
        let candidates = [ratePerSecond, sustainableRate(at: now)].compactMap { $0 }
        let base = candidates.min() ?? 1
        ratePerSecond = max(base * decrease, floor)
        nextSend = nil
    }

    /// Successes per second over the horizon (or since the first send, when that is shorter; at least a second).
    private func sustainableRate(at now: Instant) -> Double? {
        guard let firstSend else { return nil }
        let since = now.advanced(by: .zero - horizon)
        let recent = successes.reduce(0) { $0 + ($1 > since ? 1 : 0) }
        guard recent > 0 else { return nil }
        let span = max(min(firstSend.duration(to: now), horizon).seconds, 1)
        return Double(recent) / span
    }
}
