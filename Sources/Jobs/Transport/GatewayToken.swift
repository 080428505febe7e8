import Foundation
import NIOHTTP1
import RateLimiter

/// Mints OAuth client-credentials tokens from a KPN gateway token endpoint.
///
/// Number Verify answers `expires_in` as a number, the gateway's own endpoint as a string: both are read.
/// A 401, or an `invalid_client` answer, stops the run with 69: retrying cannot fix credentials.
package enum GatewayToken {
    /// A provider minting from `url` with the run's client credentials (and `scopes`, for Number Verify); nil
    /// when the job has no token endpoint.
    package static func provider(url: String?, context: TokenContext, scopes: [String]? = nil) -> TokenProvider? {
        guard let url else { return nil }
        let form = [("client_id", context.credentials.id), ("client_secret", context.credentials.secret)]
            + (scopes.map { [("scopes", $0.joined(separator: ","))] } ?? [])
        return TokenProvider(clock: context.clock) {
            try await mint(
                url: url, form: form, transport: context.transport, retry: context.retry, statistics: context.statistics,
                clock: context.clock, jitter: context.jitter
            )
        }
    }

    package static func mint(
        url: String,
        form: [(String, String)],
        transport: any HTTPTransport,
        retry: JobConfiguration.Retry,
        statistics: RunStatistics,
        clock: EngineClock,
        jitter: @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) async throws -> TokenProvider.Token {
        let body = form.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
        let request = APIRequest(
            method: .POST,
            url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(body.utf8),
            label: "POST token"
        )
        var attempts = 0
        var lastProblem = ""
        while true {
            try Task.checkCancellation()
            attempts += 1
            statistics.recordRequest()
            let outcome = await transport.execute(request, token: nil)
            if case .answer = outcome { statistics.recordAnswer() }
            switch outcome {
            case .answer(let status, _, let body) where (200..<300).contains(status):
                return try decode(body)
            case .answer(let status, _, let body):
                let text = String(decoding: body.prefix(4096), as: UTF8.self)
                if status == 401 || status == 403 || text.contains("invalid_client") {
                    throw ServiceError.tokenRefused(answer: GatewayAnswer.describe(status: status, body: body))
                }
                guard GatewayAnswer.classify(status: status, body: body) != .rejected else {
                    throw ServiceError.tokenRequestRejected(answer: GatewayAnswer.describe(status: status, body: body))
                }
                lastProblem = GatewayAnswer.describe(status: status, body: body)
            case .noAnswer(let problem, _):
                lastProblem = problem
            case .tooLarge:
                throw ServiceError.tokenAnswerTooLarge
            case .connectionFailed(let failure):
                if let stop = statistics.stopping(for: failure) { throw ServiceError.connection(stop) }
                lastProblem = failure.message
            }
            guard attempts < retry.maxAttempts else {
                throw ServiceError.tokenEndpointFailing(problem: lastProblem)
            }
            try await clock.sleep(for: retry.backoff.delay(afterFailures: attempts, unitRandom: jitter()))
        }
    }

    private static func decode(_ body: [UInt8]) throws -> TokenProvider.Token {
        let answer = try TokenAnswer(body: body)
        SecretScrubber.shared.register(token: answer.token)
        return TokenProvider.Token(value: answer.token, lifetime: .seconds(answer.lifetimeSeconds))
    }

    static func formEncode(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
