import Testing
import TestSupport

@testable import RateLimiter

/// A gateway that publishes no quota headers, modelled on the manual clock: it admits a request or answers 429,
/// with or without `Retry-After`. The shapes are the ones API gateways offer.
struct SimulatedGateway {
    enum Shape: CustomStringConvertible, Sendable {
        /// `limit` requests per window of `window` seconds, windows aligned at `phase` (Apigee Quota).
        case fixedWindow(limit: Int, window: Double, phase: Double)
        /// At most `limit` requests in any span of `window` seconds (a rolling log, as Kong and Envoy offer).
        case slidingWindow(limit: Int, window: Double)
        /// A token bucket refilled at `rate` per second holding `burst` (GCRA, as AWS API Gateway and Stripe do).
        case tokenBucket(rate: Double, burst: Int)
        /// `limit` per `window` spread evenly: one request per `window / limit` seconds (Apigee SpikeArrest).
        case spikeArrest(limit: Int, window: Double)
        /// At most `limit` requests open at once; one more is answered 429 at once.
        case concurrencyLimit(Int)

        var description: String {
            switch self {
            case .fixedWindow(let limit, let window, _): "fixed window \(limit)/\(Self.seconds(window))"
            case .slidingWindow(let limit, let window): "sliding window \(limit)/\(Self.seconds(window))"
            case .tokenBucket(let rate, let burst): "token bucket \(Self.number(rate))/s burst \(burst)"
            case .spikeArrest(let limit, let window): "spike arrest \(limit)/\(Self.seconds(window))"
            case .concurrencyLimit(let limit): "at most \(limit) in flight"
            }
        }

        /// The least wall time `rows` can take through the gateway alone.
        func idealSeconds(rows: Int, latency: Double) -> Double {
            switch self {
            case .fixedWindow(let limit, let window, _), .slidingWindow(let limit, let window), .spikeArrest(let limit, let window):
                Double(rows) / Double(limit) * window
            case .tokenBucket(let rate, let burst): Double(max(rows - burst, 0)) / rate
            case .concurrencyLimit(let limit): Double(rows) * latency / Double(limit)
            }
        }

        /// Rows for a run of `windows` windows (at least eight for the largest limits, which need no more to
        /// show their pattern and would cost minutes of a debug build's CPU), and 600 at least, so the learning is
        /// a small part of the run.
        func rows(windows: Int, atMost most: Int = 6_000) -> Int {
            let rows: Int
            switch self {
            case .fixedWindow(let limit, _, _), .slidingWindow(let limit, _), .spikeArrest(let limit, _): rows = limit * windows
            case .tokenBucket(let rate, let burst): rows = Int(rate * 10) * windows + burst
            case .concurrencyLimit(let limit): return limit * 100
            }
            return max(min(rows, most), 600)
        }

        private static func seconds(_ value: Double) -> String {
            value >= 3_600 ? "\(number(value / 3_600))h" : value >= 60 ? "\(number(value / 60))min" : "\(number(value))s"
        }

        private static func number(_ value: Double) -> String {
            value == value.rounded() ? String(Int(value)) : String(value)
        }
    }

    let shape: Shape
    let sendsRetryAfter: Bool
    private var windowIndex = Int.min
    private var admittedInWindow = 0
    private var admitted: [Double] = []
    private var admittedStart = 0
    /// GCRA's theoretical arrival time; the spike arrest's last admission.
    private var theoretical = -Double.infinity
    private(set) var open = 0

    init(_ shape: Shape, sendsRetryAfter: Bool) {
        self.shape = shape
        self.sendsRetryAfter = sendsRetryAfter
    }

    /// Whether a request arriving at `time` is admitted; for a 429, the `Retry-After` it carries (whole seconds).
    mutating func admit(at time: Double) -> (admitted: Bool, retryAfter: Duration?) {
        func refuse(until: Double) -> (Bool, Duration?) {
            (false, sendsRetryAfter ? .seconds(max(1, (until - time).rounded(.up))) : nil)
        }
        switch shape {
        case .fixedWindow(let limit, let window, let phase):
            let index = Int(((time + phase) / window).rounded(.down))
            if index != windowIndex { (windowIndex, admittedInWindow) = (index, 0) }
            guard admittedInWindow < limit else { return refuse(until: Double(index + 1) * window - phase) }
            admittedInWindow += 1
        case .slidingWindow(let limit, let window):
            while admittedStart < admitted.count, admitted[admittedStart] <= time - window { admittedStart += 1 }
            guard admitted.count - admittedStart < limit else { return refuse(until: admitted[admittedStart] + window) }
            admitted.append(time)
        case .tokenBucket(let rate, let burst):
            let interval = 1 / rate
            let tolerance = Double(burst - 1) * interval
            let arrival = max(theoretical, time)
            guard arrival - tolerance <= time else { return refuse(until: arrival - tolerance) }
            theoretical = arrival + interval
        case .spikeArrest(let limit, let window):
            let spacing = window / Double(limit)
            guard time - theoretical >= spacing else { return refuse(until: theoretical + spacing) }
            theoretical = time
        case .concurrencyLimit(let limit):
            guard open < limit else { return (false, sendsRetryAfter ? .seconds(1) : nil) }
        }
        open += 1
        return (true, nil)
    }

    /// An admitted request was answered: it is no longer open.
    mutating func close() { open -= 1 }
}

/// One runner (a `LimiterState`, `concurrency` workers) against a ``SimulatedGateway``, as discrete events on the
/// manual clock: no task, no sleeping. A throttled row is sent again.
struct GatewayRun {
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

    var gateway: SimulatedGateway
    var rows: Int
    var concurrency = 16
    /// From send to answer; the gateway decides as the request leaves (so it sees requests in their order). A 429
    /// comes back at once (the gateway answers it, not the service), after at most `throttleLatency`.
    var latency = 0.08
    var throttleLatency = 0.002
    /// Each answer's latency varies by up to this fraction either way, so answers overtake one another.
    var latencyJitter = 0.5
    var configuration = RateLimiterConfiguration()
    mutating func run() -> Outcome {
        enum Event { case wake(worker: Int), answer(worker: Int, admitted: Bool, retryAfter: Duration?, ticket: SendTicket?) }
        var state = LimiterState<Instant>(configuration: configuration)
        var queue = EventQueue<Event>()
        func schedule(_ time: Double, _ event: Event) { queue.schedule(time, event) }
        let ideal = max(gateway.shape.idealSeconds(rows: rows, latency: latency), Double(rows) * latency / Double(concurrency))
        var outcome = Outcome(idealSeconds: ideal)
        var left = rows
        var parked: [Int] = []
        var random = SplitMix(seed: 42)
        for worker in 0..<concurrency { schedule(0, .wake(worker: worker)) }
        while let (now, event) = queue.next() {
            switch event {
            case .wake(let worker):
                guard left > 0 else { continue }
                switch state.decide(at: at(now), unitRandom: random.unit()) {
                case .send:
                    left -= 1
                    outcome.requests += 1
                    let (admitted, retryAfter) = gateway.admit(at: now)
                    let thisLatency = latency * (1 + latencyJitter * (2 * random.unit() - 1))
                    let answered = now + (admitted ? thisLatency : min(thisLatency, throttleLatency))
                    schedule(answered, .answer(worker: worker, admitted: admitted, retryAfter: retryAfter, ticket: state.lastTicket))
                case .sleep(let until):
                    // Never the same instant again: a Double round trip could otherwise wake the worker before `until`.
                    schedule(max(seconds(until), now + 1e-6), .wake(worker: worker))
                case .park:
                    parked.append(worker)
                case .exhausted:
                    return outcome
                }
            case .answer(let worker, let admitted, let retryAfter, let ticket):
                if admitted {
                    gateway.close()
                    state.recordAnswer(QuotaObservation(), at: at(now), ticket: ticket)
                    outcome.seconds = now
                } else {
                    outcome.throttled += 1
                    left += 1
                    state.recordRateLimit(QuotaObservation(retryAfter: retryAfter), at: at(now), unitRandom: random.unit(), ticket: ticket)
                }
                schedule(now, .wake(worker: worker))
                for waiting in parked { schedule(now, .wake(worker: waiting)) }
                parked.removeAll()
            }
        }
        Self.expectNoStall(rowsLeft: left, parked: parked.count)
        return outcome
    }

    /// The events ran out with rows left: the limiter parked every worker with nothing in flight, so no answer
    /// could ever wake them (a real run would hang until it is killed).
    static func expectNoStall(rowsLeft: Int, parked: Int) {
        #expect(rowsLeft == 0, "stalled: \(rowsLeft) rows left, \(parked) workers parked with nothing in flight")
    }
}

/// The simulations' events in time order, those at the same instant in the order they were scheduled.
struct EventQueue<Event> {
    private var events: [(time: Double, order: Int, event: Event)] = []
    private var order = 0

    mutating func schedule(_ time: Double, _ event: Event) {
        order += 1
        events.append((time, order, event))
    }

    /// Takes the earliest event off the queue; nil when it is empty.
    mutating func next() -> (time: Double, event: Event)? {
        guard let index = events.indices.min(by: { (events[$0].time, events[$0].order) < (events[$1].time, events[$1].order) }) else {
            return nil
        }
        let (time, _, event) = events.remove(at: index)
        return (time, event)
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
