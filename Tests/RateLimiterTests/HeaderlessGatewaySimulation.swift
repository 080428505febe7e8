import TestSupport

@testable import RateLimiter

/// A gateway that publishes no quota headers, modelled on the manual clock: it admits a request or answers 429,
/// with or without `Retry-After`.
struct HeaderlessGateway {
    enum Shape: CustomStringConvertible {
        /// `limit` requests per window of `window` seconds, windows aligned at `phase` (Apigee Quota).
        case fixedWindow(limit: Int, window: Double, phase: Double)
        /// `limit` per `window` spread evenly: one request per `window / limit` seconds (Apigee SpikeArrest).
        case spikeArrest(limit: Int, window: Double)

        var description: String {
            switch self {
            case .fixedWindow(let limit, let window, _): "fixed window \(limit)/\(window)s"
            case .spikeArrest(let limit, let window): "spike arrest \(limit)/\(window)s"
            }
        }

        /// The least wall time `rows` can take.
        func idealSeconds(rows: Int) -> Double {
            switch self {
            case .fixedWindow(let limit, let window, _), .spikeArrest(let limit, let window): Double(rows) / Double(limit) * window
            }
        }
    }

    let shape: Shape
    let sendsRetryAfter: Bool
    private var windowIndex = Int.min
    private var admittedInWindow = 0
    private var lastAdmitted = -Double.infinity

    init(_ shape: Shape, sendsRetryAfter: Bool) {
        self.shape = shape
        self.sendsRetryAfter = sendsRetryAfter
    }

    /// Whether a request arriving at `time` is admitted; for a 429, the `Retry-After` it carries (whole seconds).
    mutating func admit(at time: Double) -> (admitted: Bool, retryAfter: Duration?) {
        switch shape {
        case .fixedWindow(let limit, let window, let phase):
            let index = Int(((time + phase) / window).rounded(.down))
            if index != windowIndex { (windowIndex, admittedInWindow) = (index, 0) }
            if admittedInWindow < limit {
                admittedInWindow += 1
                return (true, nil)
            }
            let reset = Double(index + 1) * window - phase
            return (false, sendsRetryAfter ? .seconds((reset - time).rounded(.up)) : nil)
        case .spikeArrest(let limit, let window):
            let spacing = window / Double(limit)
            if time - lastAdmitted >= spacing {
                lastAdmitted = time
                return (true, nil)
            }
            return (false, sendsRetryAfter ? .seconds(max(1, (lastAdmitted + spacing - time).rounded(.up))) : nil)
        }
    }
}

/// One runner (a `LimiterState`, `concurrency` workers) against a ``HeaderlessGateway``, as discrete events on
/// the manual clock: no task, no sleeping. A throttled row is sent again.
struct HeaderlessRun {
    struct Outcome: CustomStringConvertible {
        var requests = 0
        var throttled = 0
        var seconds = 0.0
        var idealSeconds = 0.0

        var throttledShare: Double { Double(throttled) / Double(max(requests, 1)) }
        var wallRatio: Double { seconds / idealSeconds }
        var description: String {
            "\(requests) requests, \(throttled) 429s (\((throttledShare * 1000).rounded() / 10)%), wall \((wallRatio * 100).rounded() / 100)x ideal"
        }
    }

    var gateway: HeaderlessGateway
    var rows: Int
    var concurrency = 8
    /// From send to answer; the gateway decides as the request leaves (so it sees requests in their order).
    var latency = 0.08
    /// Each answer's latency varies by up to this fraction either way, so answers overtake one another.
    var latencyJitter = 0.5
    var configuration = RateLimiterConfiguration()

    mutating func run() -> Outcome {
        enum Event { case wake(worker: Int), answer(worker: Int, admitted: Bool, retryAfter: Duration?) }
        var state = LimiterState<Instant>(configuration: configuration)
        var events: [(time: Double, order: Int, event: Event)] = []
        var order = 0
        func schedule(_ time: Double, _ event: Event) {
            order += 1
            events.append((time, order, event))
        }
        var outcome = Outcome(idealSeconds: gateway.shape.idealSeconds(rows: rows))
        var left = rows
        var parked: [Int] = []
        var random = SplitMix(seed: 42)
        for worker in 0..<concurrency { schedule(0, .wake(worker: worker)) }
        while let index = events.indices.min(by: { (events[$0].time, events[$0].order) < (events[$1].time, events[$1].order) }) {
            let (now, _, event) = events.remove(at: index)
            switch event {
            case .wake(let worker):
                guard left > 0 else { continue }
                switch state.decide(at: at(now), unitRandom: random.unit()) {
                case .send:
                    left -= 1
                    outcome.requests += 1
                    let thisLatency = latency * (1 + latencyJitter * (2 * random.unit() - 1))
                    let (admitted, retryAfter) = gateway.admit(at: now)
                    schedule(now + thisLatency, .answer(worker: worker, admitted: admitted, retryAfter: retryAfter))
                case .sleep(let until):
                    // Never the same instant again: a Double round trip could otherwise wake the worker before `until`.
                    schedule(max(seconds(until), now + 1e-6), .wake(worker: worker))
                case .park:
                    parked.append(worker)
                case .exhausted:
                    return outcome
                }
            case .answer(let worker, let admitted, let retryAfter):
                if admitted {
                    state.recordAnswer(QuotaObservation(), at: at(now))
                    outcome.seconds = now
                } else {
                    outcome.throttled += 1
                    left += 1
                    state.recordRateLimit(QuotaObservation(retryAfter: retryAfter), at: at(now), unitRandom: random.unit())
                }
                schedule(now, .wake(worker: worker))
                for waiting in parked { schedule(now, .wake(worker: waiting)) }
                parked.removeAll()
            }
        }
        return outcome
    }

    private func seconds(_ instant: Instant) -> Double {
        let offset = Instant(offset: .zero).duration(to: instant)
        return Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18
    }
}

/// SplitMix64, for the jitter the limiter asks for: the same on every run.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}
