/// Send-rate control for servers that publish no quota headers and only answer 429.
///
/// It learns the gateway from its throttle episodes: an episode is a run of rate-limit answers ended by the first
/// success after them (the *opening*: the window turned, or the spike arrest's spacing passed).
///
/// - Slow start: before the first rate-limit answer there is no rate, only a cap on requests in flight that
///   starts at one and grows by one with every success (so a spike-arresting gateway meets one early 429, not a
///   burst of `concurrency`), until the cap no longer matters.
/// - At every opening the rate becomes what the period since the previous opening proved: its successes over its
///   length. For a fixed window that period is the window (plus the probing's lag), for a spike arrest the
///   spacing; either way the gateway admitted that rate, so the rate never falls below what the last period proved.
///   When the period is longer than the window learned before, its last such window counts instead of its average
///   if that proves more (a rate that climbed through a long period). The period itself is the learned window,
///   which bounds how far apart probes in an episode may be. After a short episode (the first probe at the paced
///   spacing got through: a rate limit, not a spent window) the rate keeps `shortEpisodeKeeps` of the rate that
///   met the throttle, when that is more. Only a request sent during the episode can open it: a late answer to one
///   sent before proves nothing about the window.
/// - Inside an episode probes double their spacing from one request at the learned rate (in the first episode,
///   from the spacing of the successes so far, a second at least), at most a sixteenth of the learned window
///   (before one is learned, `probeCapBeforeWindow`), so finding the turn costs a few 429s and a sixteenth of a
///   window at worst. Only turned-away probes double the spacing, not the 429s of requests already in flight.
/// - Between episodes the rate climbs by `climbPerPeriod` over the first period's worth of successes (at least
///   `climbSuccessesAtLeast`), and twice as much over each further one (up to 64 times), so a rate learned with
///   a lagging probe recovers within a few periods, and a gateway that loosens its limit is found again.
struct AdaptiveRate<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// Shared mode (``SharedQuota``): a rate-limit answer sets the rate to this fraction of the proven rate.
    var decrease = 0.8
    /// Shared mode: successes to climb back to a throttled rate.
    var successesPerThrottle = 60.0
    /// Shared mode: how far back successes prove a rate.
    var horizon = Duration.seconds(60)
    /// No rate falls below this many requests per second.
    var floor = 0.05
    /// How much the rate rises over a learned period's worth of successes without a throttle.
    var climbPerPeriod = 0.01
    /// Probes inside an episode are at most this fraction of the learned window apart.
    var probeFraction = 1.0 / 16
    /// Before any window is learned, probes are at most this far apart (a window of an hour costs a probe a
    /// minute, and the opening is found within a minute of the turn).
    var probeCapBeforeWindow = Duration.seconds(60)
    /// Requests per second once an episode has ended; nil before.
    private(set) var ratePerSecond: Double?
    /// Slow start's cap on requests in flight; nil once it has grown past any concurrency, or after a throttle.
    private(set) var inFlightCap: Int? = 1
    /// The spacing of the last two openings (or from the first send to the first opening).
    private(set) var learnedWindow: Duration?
    private var nextSend: Instant?
    private var firstSend: Instant?
    private var lastOpening: Instant?
    private var successesSinceOpening = 0
    /// Recent success instants, oldest first (a ring of at most `successCapacity`).
    private var successes: [Instant] = []
    private var successStart = 0
    private static var successCapacity: Int { 4_096 }
    private var lastPeriodSuccesses = 1
    /// Rate-limit answers in the current episode; 0 outside one.
    private(set) var episodeThrottles = 0
    /// Requests sent since the current episode began: only their success is an opening (a success of a request
    /// sent before the throttle, answered late, proves nothing about the window).
    private var episodeProbes = 0
    /// The climb is spread over at least this many successes, however short the last period was.
    var climbSuccessesAtLeast = 50
    /// When the current episode began, and the rate that paced the sends then.
    private var episodeStart: (instant: Instant, rate: Double?, retryAfter: Duration?)?
    /// After a short episode (the first probe at the paced spacing got through) the rate keeps this fraction of the
    /// rate the throttle met: the gateway limits a rate (a spike arrest), not a window's count.
    var shortEpisodeKeeps = 0.95

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
        if episodeThrottles > 0 { episodeProbes += 1 }
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
        if episodeThrottles > 0, episodeProbes > 0 {
            open(at: now)
            return
        }
        successesSinceOpening += 1
        // Late answers of requests sent before the episode began: counted, but neither an opening nor a climb.
        guard episodeThrottles == 0 else { return }
        if let ratePerSecond {
            // Each clean period doubles the climb: a rate learned far too low recovers in a few periods.
            let unit = max(lastPeriodSuccesses, climbSuccessesAtLeast)
            let cleanPeriods = min((successesSinceOpening - 1) / unit, 6)
            let climb = climbPerPeriod * Double(1 << cleanPeriods) / Double(unit)
            self.ratePerSecond = ratePerSecond * (1 + climb)
        } else if let inFlightCap {
            self.inFlightCap = inFlightCap >= 256 ? nil : inFlightCap + 1
        }
    }

    /// A rate-limit answer: answers how long to pause before the next probe, or nil while not even one success
    /// has been seen (the caller's backoff decides).
    ///
    /// The pause doubles with every probe of this episode that was turned away, not with every 429: the requests
    /// that were already in flight when the window ran out come back throttled too, and prove nothing new.
    mutating func recordThrottle(at now: Instant, retryAfter: Duration? = nil) -> Duration? {
        inFlightCap = nil
        if episodeThrottles == 0 {
            episodeStart = (now, ratePerSecond, retryAfter)
            episodeProbes = 0
        }
        episodeThrottles += 1
        nextSend = nil
        let spacing: Double
        let cap: Double
        if let ratePerSecond {
            spacing = 1 / ratePerSecond
            cap = max(spacing, (learnedWindow?.seconds ?? probeCapBeforeWindow.seconds / probeFraction) * probeFraction)
        } else if let firstSend, successesSinceOpening > 0 {
            // The first episode: probe from the spacing the successes so far had, a second at least (a burst
            // that spent a window in a moment says nothing of the window's length).
            let throttled = episodeStart?.instant ?? now
            spacing = max(firstSend.duration(to: throttled).seconds / Double(successesSinceOpening), 1)
            cap = max(spacing, probeCapBeforeWindow.seconds)
        } else {
            return nil
        }
        let doubled = spacing * Double(1 << min(episodeProbes, 30))
        return .seconds(min(doubled, cap))
    }

    /// Seeds the rate and window a previous run learned: pacing starts at once, without slow start.
    mutating func restore(ratePerSecond: Double, window: Duration?) {
        guard ratePerSecond.isFinite, ratePerSecond > 0 else { return }
        self.ratePerSecond = max(ratePerSecond, floor)
        if let window, window > .zero { learnedWindow = window }
        inFlightCap = nil
    }

    /// The first success after an episode: the period since the last opening proved its successes per second.
    private mutating func open(at now: Instant) {
        episodeThrottles = 0
        episodeProbes = 0
        // The first period, from the first send, counts as a second at least: a burst proves no more than that.
        let period = lastOpening.map { $0.duration(to: now) } ?? max((firstSend ?? now).duration(to: now), .seconds(1))
        if period > .zero {
            // The opening itself proves one per period when nothing got through before it.
            var proven = Double(max(successesSinceOpening, 1)) / period.seconds
            // A long period that climbed from a low rate proves more than its average: its last learned window.
            if let learnedWindow, learnedWindow < period {
                let since = now.advanced(by: .zero - learnedWindow)
                let recent = successes.reduce(0) { $0 + ($1 > since ? 1 : 0) }
                proven = max(proven, Double(recent) / learnedWindow.seconds)
            }
            if let (began, rate, retryAfter) = episodeStart, let rate,
                began.duration(to: now).seconds <= (retryAfter?.seconds ?? 0) + 2.5 / rate
            {
                proven = max(proven, rate * shortEpisodeKeeps)
            }
            ratePerSecond = max(proven, floor)
            learnedWindow = period
            lastPeriodSuccesses = max(successesSinceOpening, 1)
        }
        episodeStart = nil
        lastOpening = now
        successesSinceOpening = 1
        if let ratePerSecond { nextSend = now.advanced(by: .seconds(1 / ratePerSecond)) }
    }
}
