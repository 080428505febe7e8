import Foundation
package import Logging
package import NIOHTTP1
package import RateLimiter
import Synchronization

/// One request a job wants answered.
package struct APIRequest: Sendable {
    package var method: HTTPMethod
    package var url: String
    package var headers: [(String, String)]
    package var body: [UInt8]?
    /// For logs: the endpoint without personal data (`POST /insights/{msisdn}`).
    package var label: String
    /// Whether sending it twice does no harm. A request that is not (creating an ID Scan transaction) is only
    /// sent again when the service surely did not act on it.
    package var isIdempotent: Bool
    /// Called once, just before the request first leaves (after the limiter and the token): where a
    /// non-idempotent request records that it may reach the service.
    package var beforeFirstSend: (@Sendable () async throws -> Void)?

    package init(method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, label: String, isIdempotent: Bool = true) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.label = label
        self.isIdempotent = isIdempotent
    }
}

/// An answer that settles a request: a success, or an error the row cannot recover from by sending again.
package struct APIAnswer: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]
    /// Sends of the request that counted as attempts (rate-limit answers and token renewals do not).
    package var attempts: Int
    /// When the settling send left, ISO-8601 UTC.
    package var requestedAt: String
    /// The request's URL.
    package var url: String

    package var isSuccess: Bool { (200..<300).contains(status) }
}

/// The row's request failed for good: it kept failing transiently until its attempts ran out, or its answer was
/// larger than `http.max_body_mb` (sending again would bring the same answer).
package struct RequestFailure: Error, Sendable {
    package var message: String
    package var attempts: Int
}

/// A non-idempotent request failed in a way that leaves open whether the service acted on it (no answer, a
/// timeout, 500, 502 or 504): it is not sent again.
package struct AmbiguousFailure: Error, Sendable {
    package var message: String
    package var attempts: Int
}

/// Sends a job's requests: through the rate limiter, with a bearer token, retrying what is worth retrying.
///
/// - Rate-limit answers pause every worker (the limiter does that) and are sent again without using an attempt.
/// - A rejected token is renewed and the request sent again: once when it was refused, up to `retry.max_attempts`
///   times when it had merely expired on its way.
/// - 500, 502, 503, 504, transport errors and timeouts are retried with capped exponential backoff and full
///   jitter, up to `retry.max_attempts`; then the row fails with ``RequestFailure``.
/// - When most recent requests fail, the ``RetryBudget`` is exhausted: the run stops, resumable (75).
package final class APIClient: Sendable {
    private let transport: any HTTPTransport
    private let limiter: RateLimiter<EngineClock>
    /// The quota shared with other workers (a shared store), taken before the local limiter.
    private let sharedQuota: SharedQuotaGate?
    private let tokens: TokenProvider?
    /// Waits until the worker may send (its lease runs), or throws when it may not any more.
    private let sendPermit: (@Sendable () async throws -> Void)?
    private let retry: JobConfiguration.Retry
    private let maxBodyBytes: Int
    private let statistics: RunStatistics
    private let serverClock: ServerClock
    private let wallClock: WallClock
    /// The clock backoff sleeps on; jobs that poll wait on it too.
    package let clock: EngineClock
    private let jitter: @Sendable () -> Double
    private let logger: Logger
    private let budget = Mutex(RetryBudget())
    private let dates = QuotaObservation.DateHeaderMemo()

    /// - Parameters:
    ///   - clock: What backoff sleeps on (the limiter's clock).
    ///   - sendPermit: Called just before each send: waits while the worker's lease is short, throws once it ran
    ///     out (``WorkerLease/permit()``).
    ///   - jitter: A number in 0..<1 per backoff (random; fixed in tests).
    package init(
        transport: any HTTPTransport,
        limiter: RateLimiter<EngineClock>,
        sharedQuota: SharedQuotaGate? = nil,
        tokens: TokenProvider?,
        sendPermit: (@Sendable () async throws -> Void)? = nil,
        retry: JobConfiguration.Retry,
        maxBodyBytes: Int,
        statistics: RunStatistics,
        serverClock: ServerClock,
        wallClock: WallClock,
        clock: EngineClock,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger
    ) {
        self.transport = transport
        self.limiter = limiter
        self.sharedQuota = sharedQuota
        self.tokens = tokens
        self.sendPermit = sendPermit
        self.retry = retry
        self.maxBodyBytes = maxBodyBytes
        self.statistics = statistics
        self.serverClock = serverClock
        self.wallClock = wallClock
        self.clock = clock
        self.jitter = jitter
        self.logger = logger
    }

    /// Sends `request` until it is settled.
    ///
    /// - Returns: The settling answer (2xx, or an error status that sending again cannot fix).
    /// - Throws: ``RequestFailure`` when the attempts ran out; ``AmbiguousFailure`` when a non-idempotent
    ///   request may have reached the service without an answer; ``ServiceError`` when the run must stop (quota
    ///   spent beyond `max_wait`, service failing, credentials refused); `CancellationError`.
    package func send(_ request: APIRequest) async throws -> APIAnswer {
        var attempts = 0
        var renewedToken = false
        var expiredRenewals = 0
        var announced = false
        var lastFailure = ""
        while true {
            try Task.checkCancellation()
            let ticket: SendTicket
            do {
                ticket = try await limiter.acquire()
            } catch RateLimiterError.quotaExhausted(let resetIn) {
                throw ServiceError.quotaExhausted(resetIn: resetIn)
            }
            // The shared quota last, so a send it grants leaves at once (never after a local wait, in the next window).
            let generation: Int?
            do {
                generation = try await sharedQuota?.acquire()
            } catch {
                limiter.recordNotSent(for: ticket)
                if case RateLimiterError.quotaExhausted(let resetIn) = error { throw ServiceError.quotaExhausted(resetIn: resetIn) }
                throw error
            }
            var token: String?
            do {
                token = try await tokens?.token()
            } catch {
                limiter.recordNotSent(for: ticket)
                throw error
            }
            if let beforeFirstSend = request.beforeFirstSend, !announced {
                announced = true
                do {
                    try await beforeFirstSend()
                } catch {
                    limiter.recordNotSent(for: ticket)
                    throw error
                }
            }
            // Last before the request leaves: a worker whose lease ran out while it waited sends nothing.
            do {
                try await sendPermit?()
            } catch {
                limiter.recordNotSent(for: ticket)
                throw error
            }
            let requestedAt = wallClock.iso8601
            statistics.recordRequest()
            let outcome = await transport.execute(request, token: token)
            try Task.checkCancellation()
            switch outcome {
            case .answer(let status, let headers, let body):
                let observation = observe(headers)
                let answerClass = GatewayAnswer.classify(status: status, body: body)
                if answerClass != .rateLimited { try await sharedQuota?.record(observation, sentUnder: generation) }
                switch answerClass {
                case .rateLimited:
                    limiter.recordRateLimit(observation, for: ticket)
                    try await sharedQuota?.recordRateLimit(observation, sentUnder: generation)
                    statistics.recordThrottle()
                    statistics.recordRetry()
                    logger.debug("rate limited; every worker pauses", metadata: ["http.request": "\(request.label)", "http.status": "\(status)"])
                    continue
                case .tokenExpired, .tokenRejected:
                    limiter.recordAnswer(observation, for: ticket)
                    // A token that merely expired on its way (a short lifetime, a long wait) is renewed as often as
                    // that happens, up to the attempts; one refused outright is renewed once.
                    let expired = answerClass == .tokenExpired
                    if expired { expiredRenewals += 1 }
                    let mayRenew = expired ? expiredRenewals <= retry.maxAttempts : !renewedToken
                    guard let token, let tokens, mayRenew else {
                        throw ServiceError.credentialsRefused(answer: GatewayAnswer.describe(status: status, body: body))
                    }
                    if !expired { renewedToken = true }
                    tokens.invalidate(token)
                    statistics.recordRetry()
                    logger.debug("token rejected; renewing", metadata: ["http.request": "\(request.label)"])
                    continue
                case .transient:
                    limiter.recordAnswer(observation, for: ticket)
                    attempts += 1
                    lastFailure = GatewayAnswer.describe(status: status, body: body)
                    if !request.isIdempotent, status != 503 {
                        try recordBudget(failed: true)
                        throw AmbiguousFailure(message: "\(lastFailure), after which the service may or may not have acted on the request", attempts: attempts)
                    }
                case .success, .rejected:
                    limiter.recordAnswer(observation, for: ticket)
                    attempts += 1
                    try recordBudget(failed: false)
                    return APIAnswer(status: status, headers: headers, body: body, attempts: attempts, requestedAt: requestedAt, url: request.url)
                }
            case .tooLarge(let headers):
                limiter.recordAnswer(observe(headers), for: ticket)
                attempts += 1
                try recordBudget(failed: false)
                throw RequestFailure(message: "the answer was larger than http.max_body_mb (\(maxBodyBytes >> 20) MiB), so it was not read; raise http.max_body_mb if the service's answers are legitimately this large", attempts: attempts)
            case .connectionFailed(let failure):
                limiter.recordNoAnswer(for: ticket)
                if let stop = statistics.stopping(for: failure) { throw ServiceError.connection(stop) }
                attempts += 1
                lastFailure = failure.message
            case .noAnswer(let description, let mayHaveArrived):
                limiter.recordNoAnswer(for: ticket)
                attempts += 1
                lastFailure = description
                if !request.isIdempotent, mayHaveArrived {
                    try recordBudget(failed: true)
                    throw AmbiguousFailure(message: "\(description); the request may have reached the service", attempts: attempts)
                }
            }
            // A transient failure: retry, fail the row, or stop the run.
            try recordBudget(failed: true)
            guard attempts < retry.maxAttempts else {
                throw RequestFailure(message: "\(lastFailure) (gave up after \(attempts) attempts)", attempts: attempts)
            }
            let delay = retry.backoff.delay(afterFailures: attempts, unitRandom: jitter())
            logger.debug("transient failure; retrying", metadata: ["http.request": "\(request.label)", "error": "\(lastFailure)", "retry.delay_ms": "\(Int(delay.seconds * 1000))"])
            try await clock.sleep(for: delay)
            statistics.recordRetry()
        }
    }

    private func recordBudget(failed: Bool) throws(ServiceError) {
        let exhausted = budget.withLock { budget -> Bool in
            budget.record(failed: failed)
            return budget.isExhausted
        }
        if exhausted {
            throw ServiceError.failing
        }
    }

    private func observe(_ headers: HTTPHeaders) -> QuotaObservation {
        let now = wallClock.epochSeconds
        var reader = QuotaObservation.HeaderReader()
        for header in headers { reader.read(name: header.name, value: header.value) }
        let observation = reader.observation(localEpochSeconds: now, dates: dates)
        if let serverNow = observation.serverEpochSeconds {
            serverClock.record(serverEpochSeconds: serverNow, atLocal: now)
        }
        statistics.recordHeaders(apiVersion: headers.first(name: "api-version"), sunset: headers.first(name: "sunset"), logger: logger)
        return observation
    }

}
