/// Send-rate control for servers that publish no quota headers and only answer 429.
///
/// It learns the gateway from its throttle episodes: an episode is a run of rate-limit answers ended by the first
/// success of a request sent during it (the *opening*: the window turned, the bucket refilled, the spike arrest's
/// spacing passed). Whatever the shape (fixed or sliding window, token bucket, spike arrest), a gateway admits a
/// sustainable rate, and an even pace below it is never refused: that rate is what is learned.
///
/// - Slow start: before the first rate-limit answer there is no rate, only a cap on requests in flight that
///   starts at one and grows by one with every success (so a spike-arresting gateway meets one early 429, not a
///   burst of `concurrency`), until the cap no longer matters. A 429 while several are in flight may be a limit on
///   the number in flight instead: ``InFlightLimit`` learns that one, and no rate is learned. The pace slow start
///   had reached at its first 429 (its last four sends) is the first ceiling, and the success pace then the clean
///   rate, unless the gateway then held back or the pace was ten times what the first period proved (a burst that
///   a window or a bucket absorbed): with answers of a second, the first period proves a third of a spike arrest.
/// - At every opening the rate becomes what the period since the previous opening proved (its successes over its
///   length; for a fixed window the period is the window), and never more than `targetShare` of the *ceiling*: the
///   pace at which the throttle was met, nor less than half that (as TCP's fast recovery halves its window: a
///   period that climbed from a low rate proves far less than a spike arrest allows) or, after an episode a probe
///   or two ended, than the rate of the last clean step; an episode that held back a quarter of the period (a
///   fixed window spent early) restarts at what the period proved alone (a `Retry-After` of a second is no holding
///   back: any shorter wait is rounded up to it). The period is the learned window, which bounds how far apart
///   probes may be. Only the success of a request sent during the episode opens it (the caller says which, as far
///   as it knows: `mayOpen`).
/// - Inside an episode probes double their spacing from one request at the learned rate (in the first episode,
///   from the spacing of the successes so far, a second at least), at most a sixteenth of the learned window (before
///   one is learned, or while it is the first period's alone, `probeCapBeforeWindow`), so finding the turn costs a
///   few 429s and a sixteenth of a window at worst. Only probes double the spacing, not the 429s of requests already
///   in flight.
/// - Between episodes, after each *step* (a learned window's worth of successes, `stepSuccessesAtLeast` at least)
///   without a throttle, the rate closes half the gap to `targetShare` of the ceiling (doubles, while no ceiling is
///   known: then a step is `stepSuccessesBeforeCeiling` successes at least, or a learned window's time). At the
///   target it holds, and only after `stepsBeforeProbing` clean steps raises the ceiling by a tenth, so a gateway
///   that loosens its limit is found again at the cost of one episode now and then.
struct AdaptiveRate<Instant: InstantProtocol>: Sendable, Equatable where Instant.Duration == Duration {
    /// No rate falls below this many requests per second (one every five minutes).
    var floor = 1.0 / 300
    /// Nor climbs above this many (a gateway that never throttles again would otherwise double it to infinity).
    var most = 100_000.0
    /// The pace kept below the ceiling.
    var targetShare = 0.95
    /// The share of the learned rate that is spent (`quota.share`): requests are paced at `share` times it.
    var share = 1.0
    /// Probes inside an episode are at most this fraction of the learned window apart.
    var probeFraction = 1.0 / 16
    /// Before any window is learned, probes are at most this far apart (a window of an hour costs a probe a
    /// minute, and the opening is found within a minute of the turn).
    var probeCapBeforeWindow = Duration.seconds(60)
    /// A step of the climb is at least this many successes.
    var stepSuccessesAtLeast = 20
    /// While no ceiling is known (the rate doubles each step), a step is at least this many successes.
    var stepSuccessesBeforeCeiling = 4
    /// Clean steps at the target before the ceiling is raised to look for a loosened limit.
    var stepsBeforeProbing = 8
    /// Requests per second once an episode has ended; nil before.
    private(set) var ratePerSecond: Double?
    /// The lowest pace that met a throttle lately; nil while none is known (slow start's pace proved nothing).
    private(set) var ceiling: Double?
    /// Slow start's cap on requests in flight; nil once it has grown past any concurrency, or after a throttle.
    private var slowStartCap: Int? = 1
    /// The gateway's limit on requests in flight, when it has one.
    private(set) var inFlightLimit = InFlightLimit()
    /// The spacing of the last two openings (or from the first send to the first opening).
    private(set) var learnedWindow: Duration?
    /// When the next request may leave at the learned pace; nil before a rate is learned and inside an episode.
    private(set) var nextSend: Instant?
    /// The last four sends, and the pace they kept as slow start met its first 429.
    private var recentSends = RecentInstants<Instant>(capacity: 4)
    private var slowStartPace: Double?
    /// The mean spacing of recent successes, in seconds (an exponentially weighted mean).
    private var successSpacing: Double?
    private var firstSend: Instant?
    private var lastOpening: Instant?
    /// Whether ``learnedWindow`` is the first period's (from the first send), not the spacing of two openings.
    private var windowFromFirstPeriod = false
    private var successesSinceOpening = 0
    private var successesThisStep = 0
    private var stepStart: Instant?
    private var stepsAtTarget = 0
    private var successes = RecentInstants<Instant>(capacity: 4_096)
    private var lastPeriodSuccesses = 1
    /// The rate of the last clean step since the last opening (it held a whole step); nil before one.
    private(set) var heldRate: Double?
    /// Rate-limit answers in the current episode; 0 outside one.
    private(set) var episodeThrottles = 0
    /// Requests sent since the current episode began: only their success is an opening (a success of a request
    /// sent before the throttle, answered late, proves nothing about the window).
    private var episodeProbes = 0
    /// When the current episode began, and the pace then (slow start's, when it is a ceiling).
    private var episodeStart: Instant?
    private var episodePace: Double?
    /// A `Retry-After` of a second or less in the episode: the gateway's rounding.
    private var episodeRoundedWait = Duration.zero

    /// What a rate-limit answer means for the sends that follow.
    enum ThrottleResponse: Equatable {
        /// The gateway limits the requests in flight: go on under the new cap, without a pause.
        case inFlightLimit
        /// Pause this long before the next probe (nil: no success seen yet; the caller's backoff decides).
        case pause(Duration?)
    }

    var isActive: Bool { ratePerSecond != nil }

    /// Whether a request sent at `sentAt` belongs to the current episode (true outside one).
    func isInEpisode(sentAt: Instant) -> Bool {
        episodeStart.map { sentAt >= $0 } ?? true
    }

    /// Whether the caps on requests in flight (slow start's, the gateway's) let another join `inFlight` others.
    /// While a refusal awaits a success, only a request alone in flight goes: its answer is the success awaited.
    func allowsAnother(inFlight: Int) -> Bool {
        if let slowStartCap, inFlight >= slowStartCap { return false }
        if let cap = inFlightLimit.cap, inFlight >= cap || (inFlightLimit.awaitsSuccess && inFlight > 0) { return false }
        return true
    }

    /// Until when the next request must wait, or nil to send now: the learned pace, or before one is learned,
    /// half the recent spacing of successes after the last send (a cap that grows by one sends its extra request
    /// between two others, not beside one: a spike arrest refuses two requests a moment apart).
    func sendTime(at now: Instant) -> Instant? {
        let next: Instant?
        if ratePerSecond != nil {
            next = nextSend
        } else if let successSpacing, let lastSend = recentSends.newest {
            next = lastSend.advanced(by: .seconds(successSpacing / 2))
        } else {
            next = nil
        }
        guard let next, now < next else { return nil }
        return next
    }

    mutating func recordSend(at now: Instant) {
        if firstSend == nil { firstSend = now }
        recentSends.append(now)
        if episodeThrottles > 0 { episodeProbes += 1 }
        guard let ratePerSecond else { return }
        let earliest = nextSend.map { max($0, now) } ?? now
        nextSend = earliest.advanced(by: .seconds(1 / (ratePerSecond * share)))
    }

    /// A request that was let out was never sent (its row was dropped first): its slot of the pace is free again,
    /// and it probed nothing.
    mutating func recordNotSent() {
        if episodeThrottles > 0 { episodeProbes = max(episodeProbes - 1, 0) }
        guard let ratePerSecond, let nextSend else { return }
        self.nextSend = nextSend.advanced(by: .seconds(-1 / (ratePerSecond * share)))
    }

    /// A success, with `inFlight` requests in flight (itself included) as it came back. `mayOpen` is false for
    /// a request known to have been sent before the current episode began (a shared ledger knows it): its
    /// success is counted but ends no episode.
    mutating func recordSuccess(at now: Instant, inFlight: Int = 1, mayOpen: Bool = true) {
        inFlightLimit.recordSuccess(sentWith: inFlight)
        if let lastSuccess = successes.newest {
            let spacing = lastSuccess.duration(to: now).seconds
            successSpacing = successSpacing.map { $0 * 0.8 + spacing * 0.2 } ?? spacing
        } else if let firstSend {
            // The first answer's time is the only spacing known: the second request does not leave beside the first.
            successSpacing = firstSend.duration(to: now).seconds
        }
        successes.append(now)
        if episodeThrottles > 0, episodeProbes > 0, mayOpen {
            open(at: now)
            return
        }
        successesSinceOpening += 1
        // Late answers of requests sent before the episode began: counted, but neither an opening nor a climb.
        guard episodeThrottles == 0 else { return }
        if let ratePerSecond {
            successesThisStep += 1
            let least = ceiling == nil ? stepSuccessesBeforeCeiling : stepSuccessesAtLeast
            // Before a ceiling is known a learned window's time is a step too: a gateway that recovered within it
            // (a spike arrest) is not made to wait for a window's worth of successes at the first period's rate.
            let windowPassed = ceiling == nil && (learnedWindow.map { stepStart?.duration(to: now) ?? .zero >= $0 } ?? false)
            guard successesThisStep >= max(lastPeriodSuccesses, least) || windowPassed else { return }
            successesThisStep = 0
            stepStart = now
            climb(from: ratePerSecond)
        } else if let slowStartCap {
            self.slowStartCap = slowStartCap >= 256 ? nil : slowStartCap + 1
        }
    }

    /// One clean step: towards the target under the ceiling, or (held there long enough) a higher ceiling.
    private mutating func climb(from rate: Double) {
        heldRate = rate
        guard let ceiling else {
            ratePerSecond = min(rate * 2, most)
            return
        }
        let target = ceiling * targetShare
        if rate < target * 0.99 {
            ratePerSecond = rate + (target - rate) / 2
            return
        }
        ratePerSecond = max(rate, target)
        stepsAtTarget += 1
        if stepsAtTarget >= stepsBeforeProbing {
            stepsAtTarget = 0
            self.ceiling = min(ceiling * 1.1, most)
        }
    }

    /// A rate-limit answer, with `inFlight` requests in flight (itself included): a limit on requests in flight
    /// (``InFlightLimit``), or how long to pause before the next probe (nil while not even one success has been
    /// seen: the caller's backoff decides).
    ///
    /// The pause doubles with every probe of this episode that was turned away, not with every 429: the requests
    /// that were already in flight when the window ran out come back throttled too, and prove nothing new.
    mutating func recordThrottle(at now: Instant, retryAfter: Duration? = nil, inFlight: Int = 1) -> ThrottleResponse {
        if slowStartCap != nil { slowStartPace = recentSends.perSecond }
        slowStartCap = nil
        // A `Retry-After` of more than a second names a time to wait for: a limit on the rate.
        if ratePerSecond == nil, (retryAfter ?? .zero) <= .seconds(1), inFlightLimit.recordThrottle(sentWith: inFlight) {
            return .inFlightLimit
        }
        if episodeThrottles == 0 {
            (episodeStart, episodePace, episodeProbes) = (now, ratePerSecond, 0)
            if ratePerSecond == nil, successesSinceOpening >= 4, let slowStartPace, let successSpacing, successSpacing > 0 {
                episodePace = slowStartPace
                heldRate = 1 / successSpacing
            }
        }
        episodeThrottles += 1
        // `Retry-After` counts whole seconds: a second is what any shorter wait is rounded up to.
        if let retryAfter, retryAfter <= .seconds(1) { episodeRoundedWait = retryAfter }
        nextSend = nil
        let spacing: Double
        let cap: Double
        if let ratePerSecond {
            spacing = 1 / ratePerSecond
            // A window learned from the first period only may be a fragment (the run began inside a fixed window):
            // probes then double up to the cap before any window is known.
            let window = windowFromFirstPeriod ? nil : learnedWindow?.seconds
            cap = max(spacing, (window ?? probeCapBeforeWindow.seconds / probeFraction) * probeFraction)
        } else if let firstSend, successesSinceOpening > 0 {
            // The first episode: probe from the spacing the successes so far had, a second at least (a burst
            // that spent a window in a moment says nothing of the window's length).
            spacing = max(firstSend.duration(to: episodeStart ?? now).seconds / Double(successesSinceOpening), 1)
            cap = max(spacing, probeCapBeforeWindow.seconds)
        } else {
            return .pause(nil)
        }
        let doubled = spacing * Double(1 << min(episodeProbes, 30))
        return .pause(.seconds(min(doubled, cap)))
    }

    /// Seeds the rate and window a previous run learned: pacing starts at once, without slow start.
    mutating func restore(ratePerSecond: Double, window: Duration?) {
        guard ratePerSecond.isFinite, ratePerSecond > 0 else { return }
        self.ratePerSecond = max(ratePerSecond, floor)
        ceiling = self.ratePerSecond! / targetShare
        if let window, window > .zero { learnedWindow = window }
        slowStartCap = nil
        inFlightLimit.markRateLimited()
    }

    /// The first success after an episode: the period since the last opening proved its successes per second.
    private mutating func open(at now: Instant) {
        let probes = episodeProbes
        episodeThrottles = 0
        episodeProbes = 0
        inFlightLimit.markRateLimited()
        // The first period, from the first send, counts as a second at least: a burst proves no more than that.
        let period = lastOpening.map { $0.duration(to: now) } ?? max((firstSend ?? now).duration(to: now), .seconds(1))
        if period > .zero {
            // The opening itself proves one per period when nothing got through before it.
            var proven = Double(max(successesSinceOpening, 1)) / period.seconds
            // A long period that climbed from a low rate proves more than its average: its last learned window.
            if let learnedWindow, learnedWindow < period {
                let since = now.advanced(by: .zero - learnedWindow)
                let recent = successes.count(after: since)
                proven = max(proven, Double(recent) / learnedWindow.seconds)
            }
            // As TCP's fast recovery halves its window, never less than half the target: a period that climbed
            // from a low rate (and paused) proves far less than a spike arrest allows; and after an episode a probe
            // or two ended, never less than the last clean step's rate (a spike arrest met on the climb; a spent
            // window turns away more probes, their spacing doubling). Neither after an episode that held back a
            // quarter of the period: the gateway withheld what the period did not prove (a fixed window spent early).
            let heldBack = episodeStart.map { ($0.duration(to: now) - episodeRoundedWait) * 4 >= period } ?? false
            // Slow start's pace says nothing when the gateway then held back, or when it was far above what the
            // period proved (a burst a window or a bucket absorbed).
            if let episodePace, ratePerSecond != nil || (!heldBack && episodePace <= proven * 10) { ceiling = episodePace }
            let held = probes <= 3 ? heldRate ?? 0 : 0
            let least = heldBack ? 0 : max(targetShare / 2 * (ceiling ?? 0), held)
            ratePerSecond = max(ceiling.map { min(max(proven, least), $0 * targetShare) } ?? proven, floor)
            learnedWindow = period
            windowFromFirstPeriod = lastOpening == nil
            lastPeriodSuccesses = max(successesSinceOpening, 1)
        }
        (episodeStart, episodePace, stepsAtTarget, successesThisStep, stepStart, heldRate) = (nil, nil, 0, 0, now, nil)
        episodeRoundedWait = .zero
        lastOpening = now
        successesSinceOpening = 1
        if let ratePerSecond { nextSend = now.advanced(by: .seconds(1 / (ratePerSecond * share))) }
    }
}

extension AdaptiveRate: Codable where Instant: Codable {}
