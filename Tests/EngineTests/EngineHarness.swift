import Synchronization
import Logging
import NIOHTTP1
import RateLimiter
import TestSupport

@testable import Jobs

/// An API client on a manual clock and an in-memory transport: retries, backoff, tokens and the retry budget
/// run in virtual time, without a process or a server.
struct ClientHarness {
    let clock = ManualClock()
    let transport: InMemoryTransport
    let statistics = RunStatistics()
    let limiter: RateLimiter<EngineClock>
    let client: APIClient

    init(
        maxAttempts: Int = 3,
        limiter configuration: RateLimiterConfiguration = RateLimiterConfiguration(),
        tokens: ((EngineClock) -> TokenProvider)? = nil,
        respond: @escaping @Sendable (InMemoryTransport.Sent, Int) async -> TransportOutcome
    ) {
        let engineClock = EngineClock(clock)
        transport = InMemoryTransport(respond: respond)
        let wallClock = WallClock { 1_700_000_000 }
        limiter = RateLimiter(configuration: configuration, clock: engineClock)
        client = APIClient(
            transport: transport,
            limiter: limiter,
            tokens: tokens?(engineClock),
            retry: JobConfiguration.Retry(maxAttempts: maxAttempts, backoff: Backoff(base: .seconds(1), cap: .seconds(8))),
            maxBodyBytes: 1 << 20,
            statistics: statistics,
            serverClock: ServerClock(wallClock: wallClock),
            wallClock: wallClock,
            clock: engineClock,
            jitter: { 0.999 },
            logger: Logger(label: "test")
        )
    }

    /// Waits until the code under test sleeps on the clock, then moves time on by `duration`.
    func advanceOnceAsleep(by duration: Duration) async {
        await clock.waitForSleepers(1)
        clock.advance(by: duration)
    }
}

/// A GET the client may send any number of times.
func probe(_ path: String = "/insights/31612345678", idempotent: Bool = true) -> APIRequest {
    APIRequest(method: .POST, url: "http://127.0.0.1:1" + path, label: "POST /insights/{msisdn}", isIdempotent: idempotent)
}

/// A token provider that mints `t1`, `t2`, ... with `lifetime`, counting its mints.
func countingTokens(lifetime: Duration = .seconds(3600)) -> (EngineClock) -> TokenProvider {
    let mints = Counter()
    return { clock in
        TokenProvider(clock: clock) { TokenProvider.Token(value: "t\(mints.increment())", lifetime: lifetime) }
    }
}

/// A thread-safe counter for closures that run on any task.
final class Counter: Sendable {
    private let value = Mutex(0)
    var current: Int { value.withLock { $0 } }
    @discardableResult func increment() -> Int { value.withLock { $0 += 1; return $0 } }
}

