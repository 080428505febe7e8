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

    /// Sends `request` until it is settled: the shell that performs ``RequestAttempt``'s steps.
    ///
    /// - Returns: The settling answer (2xx, or an error status that sending again cannot fix).
    /// - Throws: ``RequestFailure`` when the attempts ran out; ``AmbiguousFailure`` when a non-idempotent
    ///   request may have reached the service without an answer; ``ServiceError`` when the run must stop (quota
    ///   spent beyond `max_wait`, service failing, credentials refused); `CancellationError`.
    package func send(_ request: APIRequest) async throws -> APIAnswer {
        var attempt = RequestAttempt(isIdempotent: request.isIdempotent, maxAttempts: retry.maxAttempts)
        while true {
            try Task.checkCancellation()
            let admission = try await admit(request, firstSend: attempt.takeFirstSend())
            let requestedAt = wallClock.iso8601
            statistics.recordRequest()
            let outcome = await transport.execute(request, token: admission.token)
            // The limiter hears of every request it let out, before anything that can throw.
            var answer: (status: Int, headers: HTTPHeaders, body: [UInt8])?
            let step: RequestAttempt.Step
            switch outcome {
            case .answer(let status, let headers, let body):
                let observation = observe(headers)
                let answerClass = GatewayAnswer.classify(status: status, body: body)
                if answerClass == .rateLimited {
                    limiter.recordRateLimit(observation, for: admission.ticket)
                    try await sharedQuota?.recordRateLimit(observation, sentUnder: admission.generation)
                } else {
                    limiter.recordAnswer(observation, for: admission.ticket)
                    try await sharedQuota?.record(observation, sentUnder: admission.generation)
                }
                answer = (status, headers, body)
                step = attempt.answered(answerClass, status: status, canRenewToken: admission.token != nil) {
                    GatewayAnswer.describe(status: status, body: body)
                }
            case .tooLarge(let headers):
                limiter.recordAnswer(observe(headers), for: admission.ticket)
                step = attempt.answerTooLarge()
            case .connectionFailed(let failure):
                limiter.recordNoAnswer(for: admission.ticket)
                if let stop = statistics.stopping(for: failure) { throw ServiceError.connection(stop) }
                step = attempt.connectionFailed(failure.message)
            case .noAnswer(let description, let mayHaveArrived):
                limiter.recordNoAnswer(for: admission.ticket)
                step = attempt.noAnswer(description, mayHaveArrived: mayHaveArrived)
            }
            try Task.checkCancellation()
            if let failed = step.attemptFailed { try recordBudget(failed: failed) }
            switch step.action {
            case .sendAgainAfterRateLimit:
                statistics.recordThrottle()
                statistics.recordRetry()
                logger.debug("rate limited; every worker pauses", metadata: ["http.request": "\(request.label)", "http.status": "\(answer?.status ?? 429)"])
            case .renewTokenAndSendAgain:
                if let token = admission.token { tokens?.invalidate(token) }
                statistics.recordRetry()
                logger.debug("token rejected; renewing", metadata: ["http.request": "\(request.label)"])
            case .backOffAndSendAgain(let failures, let lastFailure):
                let delay = retry.backoff.delay(afterFailures: failures, unitRandom: jitter())
                logger.debug("transient failure; retrying", metadata: ["http.request": "\(request.label)", "error": "\(lastFailure)", "retry.delay_ms": "\(Int(delay.seconds * 1000))"])
                try await clock.sleep(for: delay)
                statistics.recordRetry()
            case .settle(let attempts):
                guard let answer else { preconditionFailure("only an answer settles a request") }
                return APIAnswer(status: answer.status, headers: answer.headers, body: answer.body, attempts: attempts, requestedAt: requestedAt, url: request.url)
            case .fail(let failure):
                throw error(for: failure)
            }
        }
    }

    /// What a request needs to leave: the limiter's ticket, the shared quota's grant, the token.
    private struct Admission {
        var ticket: SendTicket
        var generation: Int?
        var token: String?
    }

    /// Takes the limiter's ticket, then the shared quota's grant (last of the two, so a send it grants leaves at
    /// once, never after a local wait in the next window) and the token; runs the request's first-send hook and,
    /// last, the worker's permit (a worker whose lease ran out while it waited sends nothing). Whatever fails after
    /// the ticket was taken gives it back: the request was never sent.
    private func admit(_ request: APIRequest, firstSend: Bool) async throws -> Admission {
        let ticket: SendTicket
        do {
            ticket = try await limiter.acquire()
        } catch RateLimiterError.quotaExhausted(let resetIn) {
            throw ServiceError.quotaExhausted(resetIn: resetIn)
        }
        do {
            let generation = try await sharedQuota?.acquire()
            let token = try await tokens?.token()
            if firstSend, let beforeFirstSend = request.beforeFirstSend { try await beforeFirstSend() }
            try await sendPermit?()
            return Admission(ticket: ticket, generation: generation, token: token)
        } catch {
            limiter.recordNotSent(for: ticket)
            if case RateLimiterError.quotaExhausted(let resetIn) = error { throw ServiceError.quotaExhausted(resetIn: resetIn) }
            throw error
        }
    }

    private func error(for failure: RequestAttempt.Failure) -> any Error {
        switch failure {
        case .gaveUp(let lastFailure, let attempts):
            RequestFailure(message: "\(lastFailure) (gave up after \(attempts) attempts)", attempts: attempts)
        case .tooLarge(let attempts):
            RequestFailure(
                message: "the answer was larger than http.max_body_mb (\(maxBodyBytes >> 20) MiB), so it was not read; raise http.max_body_mb if the service's answers are legitimately this large",
                attempts: attempts
            )
        case .ambiguous(let message, let attempts):
            AmbiguousFailure(message: message, attempts: attempts)
        case .credentialsRefused(let answer):
            ServiceError.credentialsRefused(answer: answer)
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
