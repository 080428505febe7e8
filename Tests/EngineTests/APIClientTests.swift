import NIOHTTP1
import RateLimiter
import Testing
import TestSupport

@testable import Jobs

/// Retries, backoff, rate limits, token renewal and the retry budget of ``APIClient``, in virtual time.
@Suite(.timeLimit(.minutes(1))) struct APIClientTests {
    @Test func aTransientFailureIsRetriedAfterItsBackoff() async throws {
        let harness = ClientHarness { _, index in index == 0 ? .json(503, "{}") : .json(200, #"{"ok":true}"#) }
        let answer = Task { try await harness.client.send(probe()) }
        await harness.clock.waitForSleepers(1)
        #expect(harness.transport.sent.count == 1, "the retry waits for its backoff")
        harness.clock.advance(by: .seconds(1))
        let settled = try await answer.value
        #expect(settled.status == 200)
        #expect(settled.attempts == 2)
        #expect(harness.transport.sent.count == 2)
        #expect(harness.statistics.snapshot.retries == 1)
        #expect(harness.statistics.snapshot.requests == 2)
    }

    @Test func theRowFailsOnceItsAttemptsRunOut() async throws {
        let harness = ClientHarness(maxAttempts: 3) { _, _ in .json(500, "{}") }
        let answer = Task { try await harness.client.send(probe()) }
        await harness.advanceOnceAsleep(by: .seconds(1))
        await harness.advanceOnceAsleep(by: .seconds(2))
        await #expect(throws: RequestFailure.self) { try await answer.value }
        #expect(harness.transport.sent.count == 3)
    }

    @Test func backoffDoublesUpToItsCap() async throws {
        let harness = ClientHarness(maxAttempts: 6) { _, index in index < 5 ? .json(502, "{}") : .json(200, "{}") }
        let answer = Task { try await harness.client.send(probe()) }
        // 1, 2, 4, 8, 8 s (full jitter near its top): each retry leaves only once its wait is over.
        for (failures, wait) in [1, 2, 4, 8, 8].enumerated() {
            await harness.clock.waitForSleepers(1)
            harness.clock.advance(by: .seconds(wait) - .milliseconds(20))
            #expect(harness.clock.sleeperCount == 1, "still waiting")
            #expect(harness.transport.sent.count == failures + 1)
            harness.clock.advance(by: .milliseconds(20))
        }
        #expect(try await answer.value.attempts == 6)
    }

    @Test func aRateLimitAnswerWaitsAndDoesNotUseAnAttempt() async throws {
        let harness = ClientHarness { _, index in
            index == 0 ? .json(429, "{}", headers: [("Retry-After", "5")]) : .json(200, "{}")
        }
        let answer = Task { try await harness.client.send(probe()) }
        await harness.clock.waitForSleepers(1)
        harness.clock.advance(by: .seconds(4))
        #expect(harness.clock.sleeperCount == 1, "still waiting for Retry-After")
        #expect(harness.transport.sent.count == 1)
        harness.clock.advance(by: .seconds(2))
        let settled = try await answer.value
        #expect(settled.attempts == 1)
        #expect(harness.statistics.snapshot.throttled == 1)
    }

    @Test func anExpiredTokenIsRenewedAndTheRequestSentAgain() async throws {
        let expired = #"{"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"oauth.v2.AccessTokenExpired"}}}"#
        let harness = ClientHarness(tokens: countingTokens()) { _, index in
            index == 0 ? .json(401, expired) : .json(200, "{}")
        }
        let answer = try await harness.client.send(probe())
        #expect(answer.attempts == 1)
        #expect(harness.transport.sent.map(\.token) == ["t1", "t2"])
    }

    @Test func aRefusedTokenIsRenewedOnceThenTheRunStops() async throws {
        let harness = ClientHarness(tokens: countingTokens()) { _, _ in .json(401, #"{"error":"invalid_token"}"#) }
        await #expect {
            try await harness.client.send(probe())
        } throws: { error in
            if case .credentialsRefused = error as? ServiceError { true } else { false }
        }
        #expect(harness.transport.sent.map(\.token) == ["t1", "t2"])
    }

    @Test func theRetryBudgetStopsTheRunWhenMostRequestsFail() async throws {
        let harness = ClientHarness(maxAttempts: 50) { _, _ in .noAnswer("connection reset", mayHaveArrived: true) }
        let answer = Task { try await harness.client.send(probe()) }
        // The budget needs ten outcomes; all failed, so the tenth stops the run instead of a tenth backoff.
        for _ in 1..<10 { await harness.advanceOnceAsleep(by: .seconds(8)) }
        await #expect {
            try await answer.value
        } throws: { error in
            error as? ServiceError == .failing
        }
        #expect(harness.transport.sent.count == 10)
    }

    @Test func aNonIdempotentRequestWithoutAnAnswerIsNeverSentAgain() async throws {
        let harness = ClientHarness { _, _ in .noAnswer("timed out", mayHaveArrived: true) }
        let announced = Counter()
        var request = probe("/transactions", idempotent: false)
        request.beforeFirstSend = { announced.increment() }
        await #expect(throws: AmbiguousFailure.self) { try await harness.client.send(request) }
        #expect(harness.transport.sent.count == 1)
        #expect(announced.current == 1)
    }

    @Test func aNonIdempotentRequestThatNeverConnectedIsRetried() async throws {
        let harness = ClientHarness { _, index in
            index == 0 ? .noAnswer("connection refused", mayHaveArrived: false) : .json(201, #"{"id":"tx"}"#)
        }
        let announced = Counter()
        var request = probe("/transactions", idempotent: false)
        request.beforeFirstSend = { announced.increment() }
        let answer = Task { try await harness.client.send(request) }
        await harness.advanceOnceAsleep(by: .seconds(1))
        #expect(try await answer.value.status == 201)
        #expect(announced.current == 1, "the row is marked sending once, before its first send")
    }

    @Test(arguments: [
        ConnectionFailure.untrustedCertificate(host: "api-prd.kpn.com", reason: "expired"),
        .proxyRefused(proxy: "http://ops:***@proxy:3128", answer: "answered 407"),
        .unreachable(host: "api-prd.kpn.com", cause: "connection refused"),
    ])
    func aConnectionFailureBeforeAnyAnswerStopsTheRunAtOnce(failure: ConnectionFailure) async throws {
        let harness = ClientHarness(maxAttempts: 6) { _, _ in .connectionFailed(failure) }
        await #expect {
            try await harness.client.send(probe())
        } throws: { error in
            error as? ServiceError == .connection(failure)
        }
        #expect(harness.transport.sent.count == 1, "no retry storm")
        #expect(ExitTable.jobError(for: ServiceError.connection(failure)).code.exitCode == 69)
    }

    @Test func onceTheRunHadAnswersAnUnreachableServiceIsAnOutageToRetry() async throws {
        let harness = ClientHarness(maxAttempts: 6) { _, index in
            index == 1 ? .connectionFailed(.unreachable(host: "api-prd.kpn.com", cause: "connection refused")) : .json(200, "{}")
        }
        #expect(try await harness.client.send(probe()).status == 200)
        let second = Task { try await harness.client.send(probe()) }
        await harness.advanceOnceAsleep(by: .seconds(1))
        let settled = try await second.value
        #expect(settled.status == 200)
        #expect(settled.attempts == 2)
    }

    @Test func aCertificateFailureStopsTheRunEvenAfterAnswers() async throws {
        let failure = ConnectionFailure.untrustedCertificate(host: "api-prd.kpn.com", reason: "unknown issuer")
        let harness = ClientHarness(maxAttempts: 6) { _, index in index == 0 ? .json(200, "{}") : .connectionFailed(failure) }
        _ = try await harness.client.send(probe())
        await #expect {
            try await harness.client.send(probe())
        } throws: { error in
            error as? ServiceError == .connection(failure)
        }
        #expect(harness.transport.sent.count == 2)
    }

    @Test func anOversizedAnswerFailsTheRowWithoutARetry() async throws {
        let harness = ClientHarness { _, _ in .tooLarge(headers: HTTPHeaders()) }
        await #expect(throws: RequestFailure.self) { try await harness.client.send(probe()) }
        #expect(harness.transport.sent.count == 1)
    }

    @Test func aSendCancelledWhileItsRequestIsOutLeavesNothingInFlight() async throws {
        // The transport waits until the send is cancelled (a stream that never yields ends then).
        let (never, continuation) = AsyncStream.makeStream(of: Int.self)
        let harness = ClientHarness { _, _ in
            for await _ in never {}
            return .noAnswer("cancelled", mayHaveArrived: true)
        }
        defer { continuation.finish() }
        let sending = Task { try await harness.client.send(probe()) }
        while harness.transport.sent.isEmpty, !Task.isCancelled { await Task.yield() }
        #expect(harness.limiter.snapshot.inFlight == 1)
        sending.cancel()
        await #expect(throws: CancellationError.self) { try await sending.value }
        #expect(harness.limiter.snapshot.inFlight == 0, "the limiter heard of the request before the cancellation ended the send")
    }
}
