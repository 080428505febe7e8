import RateLimiter
import Testing
import TestSupport

@testable import Jobs

/// Token lifetimes and minting, in virtual time.
@Suite(.timeLimit(.minutes(1))) struct TokenProviderTests {
    @Test func aTokenIsReusedUntilShortlyBeforeItExpires() async throws {
        let clock = ManualClock()
        let mints = Counter()
        let provider = TokenProvider(clock: EngineClock(clock)) {
            TokenProvider.Token(value: "t\(mints.increment())", lifetime: .seconds(100))
        }
        #expect(try await provider.token() == "t1")
        // A tenth of the lifetime (10 s) before the end, the token is renewed.
        clock.advance(by: .seconds(89))
        #expect(try await provider.token() == "t1")
        clock.advance(by: .seconds(1))
        #expect(try await provider.token() == "t2")
        #expect(mints.current == 2)
    }

    @Test func anInvalidatedTokenIsMintedAgainOnlyOnce() async throws {
        let mints = Counter()
        let provider = TokenProvider(clock: EngineClock(ManualClock())) {
            TokenProvider.Token(value: "t\(mints.increment())", lifetime: .seconds(3600))
        }
        let first = try await provider.token()
        provider.invalidate(first)
        provider.invalidate(first)
        #expect(try await provider.token() == "t2")
        provider.invalidate("t1")
        #expect(try await provider.token() == "t2", "a stale invalidation does not drop the new token")
    }

    @Test func aMintThatStopsTheRunIsNotTriedAgain() async throws {
        let mints = Counter()
        let failure = ServiceError.connection(.unreachable(host: "api-prd.kpn.com", cause: "connection refused"))
        let provider = TokenProvider(clock: EngineClock(ManualClock())) {
            mints.increment()
            throw failure
        }
        for _ in 0..<3 {
            await #expect { try await provider.token() } throws: { $0 as? ServiceError == failure }
        }
        #expect(mints.current == 1, "later callers get the same stop without another connection attempt")
    }

    @Test func concurrentCallersShareOneMint() async throws {
        let clock = ManualClock()
        let mints = Counter()
        let provider = TokenProvider(clock: EngineClock(clock)) {
            mints.increment()
            try await clock.sleep(for: .seconds(1))
            return TokenProvider.Token(value: "shared", lifetime: .seconds(3600))
        }
        async let first = provider.token()
        async let second = provider.token()
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(1))
        #expect(try await [first, second] == ["shared", "shared"])
        #expect(mints.current == 1)
    }

    @Test func theTokenEndpointIsRetriedWithBackoffThenTheRunStopsResumable() async throws {
        let clock = ManualClock()
        let transport = InMemoryTransport { _, _ in .json(503, "{}") }
        let token = Task {
            try await GatewayToken.mint(
                url: "http://127.0.0.1:1/token", form: [("client_id", "id")], transport: transport,
                retry: JobConfiguration.Retry(maxAttempts: 3, backoff: Backoff(base: .seconds(1), cap: .seconds(4))),
                statistics: RunStatistics(), clock: EngineClock(clock), jitter: { 0.999 }
            )
        }
        for wait in [1, 2] {
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(wait))
        }
        await #expect {
            try await token.value
        } throws: { error in
            error as? ServiceError == .tokenEndpointFailing(problem: "HTTP 503")
        }
        #expect(transport.sent.count == 3)
    }

    /// Every number a server sends is clamped before arithmetic: these once trapped a Double-to-integer conversion
    /// and crashed every cron run.
    @Test(arguments: [
        (#""inf""#, 366.0 * 86_400), ("1e300", 366.0 * 86_400), (#""nan""#, 3_600.0), ("-1e300", 1.0), (#""-inf""#, 1.0), ("0", 1.0),
        ("1e-300", 1.0), (#""3599""#, 3_599.0), ("null", 3_600.0), (#""soon""#, 3_600.0),
    ] as [(String, Double)])
    func absurdLifetimesAreClamped(expiresIn: String, seconds: Double) throws {
        let answer = try TokenAnswer(body: Array(#"{"access_token":"t","expires_in":\#(expiresIn)}"#.utf8))
        #expect(answer.lifetimeSeconds == seconds)
    }

    @Test func aTokenAnswerOfTheWrongTypesIsRefusedNamingTheField() async throws {
        for (body, expected) in [
            (#"{"access_token":"t","expires_in":{"s":1}}"#, ServiceError.tokenAnswerWrongType(AnswerShapeError(field: "expires_in", found: "an object", expected: "text or a number"))),
            (#"{"access_token":["t"]}"#, .tokenAnswerWrongType(AnswerShapeError(field: "access_token", found: "a list", expected: "text"))),
            (#"{"access_token":""}"#, .tokenAnswerWithoutToken),
            (#"[1]"#, .tokenAnswerWithoutToken),
        ] {
            let transport = InMemoryTransport { _, _ in .json(200, body) }
            await #expect(throws: expected) {
                try await GatewayToken.mint(
                    url: "http://127.0.0.1:1/token", form: [], transport: transport,
                    retry: JobConfiguration.Retry(maxAttempts: 2, backoff: Backoff()), statistics: RunStatistics(), clock: EngineClock(ManualClock())
                )
            }
        }
    }

    @Test func refusedClientCredentialsStopTheRunAtOnce() async throws {
        let transport = InMemoryTransport { _, _ in .json(401, #"{"error":"invalid_client"}"#) }
        let statistics = RunStatistics()
        await #expect {
            try await GatewayToken.mint(
                url: "http://127.0.0.1:1/token", form: [("client_id", "id")], transport: transport,
                retry: JobConfiguration.Retry(maxAttempts: 6, backoff: Backoff()), statistics: statistics,
                clock: EngineClock(ManualClock())
            )
        } throws: { error in
            if case .tokenRefused = error as? ServiceError { true } else { false }
        }
        #expect(transport.sent.count == 1)
        #expect(statistics.snapshot.requests == 1)
    }
}
