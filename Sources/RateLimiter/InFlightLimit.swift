/// Learns a gateway's limit on requests in flight: a 429 for a request that arrives while `N` are open, which is
/// how several API gateways protect a backend. A pure value, driven by the limiter's sends, answers and 429s.
///
/// Such a gateway refuses exactly the requests that find more than `N` in flight, and admits every other: so
/// while the numbers in flight it refused all lie above those it admitted, the 429s are charged to a limit on
/// requests in flight, and sending goes on under a cap without a pause. A refusal with fewer in flight than an
/// earlier admission, or with at most one other in flight, proves a limit on the rate instead: from then on every
/// 429 is the rate learner's (``AdaptiveRate``). (A limit of one in flight cannot be told from a rate of one per
/// answer time, and is paced as that; a spike arrest refuses the second of two requests sent close together, which
/// read as a limit of one in flight held the run to half the gateway.)
///
/// The cap follows TCP's congestion window: additive increase (one more after a cap's worth of successes) and
/// multiplicative decrease (a 429 at `k` in flight sets the cap to three quarters of `k`, at most `k - 1`, and
/// nothing more leaves until a success shows the gateway still admits: a spent window would refuse it too). The
/// level last refused is remembered: the cap climbs back to just under it at once, and tries it again only after
/// `probeSuccesses` times the cap's successes, doubling with each refusal there (up to 64 times), so probing costs
/// well under 3% of the requests while every allowed slot stays in use.
struct InFlightLimit: Sendable, Equatable, Codable {
    /// Requests allowed in flight; nil while no limit was learned.
    private(set) var cap: Int?
    /// The lowest number in flight the gateway refused, while it is believed.
    private(set) var refusedAt: Int?
    /// Whether a 429 proved the gateway limits a rate: 429s are no longer charged to the number in flight.
    private(set) var limitsRate = false
    /// The most requests in flight (this one included) a request was admitted with.
    private var mostAdmitted = 0
    private var successesAtCap = 0
    private var probeBackoff = 1
    /// After a refusal charged to the limit, nothing more leaves until a success shows the gateway still admits: a
    /// spent window refuses every request, and those sent under the new cap before its next 429 came back were lost.
    private(set) var awaitsSuccess = false
    /// Successes at the cap, per request of the cap, before the refused level is tried again (then doubling).
    var probeSuccesses = 4

    /// A request was admitted that had been sent with `inFlight` requests in flight, itself included.
    mutating func recordSuccess(sentWith inFlight: Int) {
        mostAdmitted = max(mostAdmitted, inFlight)
        awaitsSuccess = false
        // Only a request that used the whole cap proves it (TCP grows its window only while the window limits it,
        // RFC 7661): answers of a millisecond seldom fill a cap of five, and "held" it without ever trying it.
        guard let cap, !limitsRate, inFlight >= cap else { return }
        successesAtCap += 1
        // The next level is the one refused: it is tried only after a long wait.
        let nextIsRefused = refusedAt.map { cap + 1 == $0 } ?? false
        guard successesAtCap >= (nextIsRefused ? cap * probeSuccesses * probeBackoff : cap) else { return }
        successesAtCap = 0
        if let refusedAt, cap >= refusedAt {
            // The refused level held for a cap's worth of successes: the gateway loosened.
            (self.refusedAt, probeBackoff) = (nil, 1)
        }
        self.cap = cap + 1
    }

    /// A 429 for a request sent with `inFlight` requests in flight (itself included): answers whether it is
    /// charged to the limit on requests in flight (sending goes on under the new cap, without a pause).
    mutating func recordThrottle(sentWith inFlight: Int) -> Bool {
        guard !limitsRate else { return false }
        guard inFlight > 2, inFlight >= mostAdmitted else {
            markRateLimited()
            return false
        }
        if let refusedAt, inFlight >= refusedAt, cap.map({ $0 >= refusedAt }) == true {
            probeBackoff = min(probeBackoff * 2, 64)
        }
        refusedAt = min(refusedAt ?? inFlight, inFlight)
        cap = max(1, min(inFlight - 1, inFlight * 3 / 4))
        successesAtCap = 0
        awaitsSuccess = true
        return true
    }

    /// The gateway limits a rate (a 429 proved it, or a previous run learned one): 429s are the rate learner's.
    mutating func markRateLimited() {
        (cap, refusedAt, limitsRate, awaitsSuccess) = (nil, nil, true, false)
    }
}
