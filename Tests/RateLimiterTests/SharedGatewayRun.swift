import TestSupport

@testable import RateLimiter

/// Several runners of one campaign (each a `LimiterState` that does not pace on its own, a ``SharedQuotaHand`` and
/// `concurrency` workers) sharing one ledger (``SharedQuota``) against a ``SimulatedGateway``, as discrete events
/// on the manual clock, as the shared gate drives them: a worker whose hand is empty asks the ledger, telling what
/// its answers said; a probe's answer is told at once; a rate limit drops the hand and is told at once. Ledger
/// transactions take `ledgerLatency`. A throttled row is sent again.
struct SharedGatewayRun {
    var gateway: SimulatedGateway
    var rows: Int
    var processes = 3
    var concurrency = 8
    var latency = 0.08
    var throttleLatency = 0.002
    var latencyJitter = 0.5
    var ledgerLatency = 0.002

    mutating func run() -> GatewayRun.Outcome {
        enum Event {
            case wake(process: Int, worker: Int)
            /// The request the worker holds asks the shared hand (again).
            case share(process: Int, worker: Int)
            case send(process: Int, worker: Int, generation: Int?)
            case answer(process: Int, worker: Int, admitted: Bool, retryAfter: Duration?, generation: Int?)
        }
        var configuration = RateLimiterConfiguration()
        configuration.pacesAdaptively = false
        var limiters = [LimiterState<Instant>](repeating: LimiterState(configuration: configuration), count: processes)
        var hands = [SharedQuotaHand](repeating: SharedQuotaHand(), count: processes)
        var ledger = SharedQuota()
        var queue = EventQueue<Event>()
        func schedule(_ time: Double, _ event: Event) { queue.schedule(time, event) }
        let ideal = max(gateway.shape.idealSeconds(rows: rows, latency: latency), Double(rows) * latency / Double(concurrency * processes))
        var outcome = GatewayRun.Outcome(idealSeconds: ideal)
        var left = rows
        var parked = [[Int]](repeating: [], count: processes)
        var random = SplitMix(seed: 42)
        let epoch = 1_000.0  // server epoch seconds at the simulation's zero
        for process in 0..<processes {
            for worker in 0..<concurrency { schedule(0, .wake(process: process, worker: worker)) }
        }
        func wakeParked(_ process: Int, _ now: Double) {
            for waiting in parked[process] { schedule(now, .wake(process: process, worker: waiting)) }
            parked[process].removeAll()
        }
        while let (now, event) = queue.next() {
            switch event {
            case .wake(let process, let worker):
                guard left > 0 else { continue }
                switch limiters[process].decide(at: at(now), unitRandom: random.unit()) {
                case .send:
                    left -= 1
                    schedule(now, .share(process: process, worker: worker))
                case .sleep(let until): schedule(max(seconds(until), now + 1e-6), .wake(process: process, worker: worker))
                case .park: parked[process].append(worker)
                case .exhausted: return outcome
                }
            case .share(let process, let worker):
                switch hands[process].take(now: epoch + now) {
                case .go(let generation): schedule(now, .send(process: process, worker: worker, generation: generation))
                case .goAt(let at, let generation): schedule(max(at - epoch, now), .send(process: process, worker: worker, generation: generation))
                case .refill:
                    // The transaction runs at once and its answer comes back after the ledger's latency.
                    let pending = hands[process].takePending()
                    ledger.tell(pending, now: epoch + now, margin: 1)
                    let grant = ledger.take(want: concurrency, now: epoch + now, margin: 1, probeTimeout: 30)
                    let answered = now + ledgerLatency
                    if let until = hands[process].apply(grant, now: epoch + answered) {
                        schedule(max(until - epoch, answered), .share(process: process, worker: worker))
                    } else {
                        schedule(answered, .share(process: process, worker: worker))
                    }
                }
            case .send(let process, let worker, let generation):
                outcome.requests += 1
                let (admitted, retryAfter) = gateway.admit(at: now)
                let thisLatency = latency * (1 + latencyJitter * (2 * random.unit() - 1))
                let answered = now + (admitted ? thisLatency : min(thisLatency, throttleLatency))
                schedule(answered, .answer(process: process, worker: worker, admitted: admitted, retryAfter: retryAfter, generation: generation))
            case .answer(let process, let worker, let admitted, let retryAfter, let generation):
                if admitted {
                    gateway.close()
                    limiters[process].recordAnswer(QuotaObservation(), at: at(now))
                    outcome.seconds = now
                    if hands[process].record(nil, sentUnder: generation) {
                        ledger.tell(hands[process].takePending(), now: epoch + now, margin: 1)
                    }
                } else {
                    outcome.throttled += 1
                    left += 1
                    limiters[process].recordRateLimit(QuotaObservation(retryAfter: retryAfter), at: at(now), unitRandom: random.unit())
                    hands[process].dropGrants()
                    ledger.tell(hands[process].takePending(), now: epoch + now, margin: 1)
                    ledger.recordRateLimit(
                        until: retryAfter.map { epoch + now + $0.seconds }, now: epoch + now, margin: 1,
                        backoff: configuration.backoff, unitRandom: random.unit(), generation: generation
                    )
                }
                schedule(now, .wake(process: process, worker: worker))
                wakeParked(process, now)
            }
        }
        GatewayRun.expectNoStall(rowsLeft: left, parked: parked.map(\.count).reduce(0, +))
        return outcome
    }
}
