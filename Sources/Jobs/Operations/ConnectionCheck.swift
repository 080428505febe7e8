import Foundation
import NIOHTTP1
import Synchronization

/// What `batch-runner validate --connect` found: for each endpoint the job uses, whether it can be reached the
/// way a run would reach it (through the proxy that applies, TLS with the run's trust) and, where the API has a
/// token endpoint, whether it mints a token for the job's credentials. Spends no quota: the only request sent is
/// the token request, which the gateways do not count.
package struct ConnectionCheck: Sendable, Codable {
    package struct Endpoint: Sendable, Codable {
        /// `api` (endpoints.base) or `token` (endpoints.token).
        package var role: String
        package var url: String
        package var host: String
        /// The proxy, password masked; nil when direct.
        package var proxy: String?
        /// Where the proxy setting came from: `http.proxy`, `https_proxy`, ... (cron's environment is not yours).
        package var proxySetting: String?
        package var certificateSubject: String?
        package var certificateIssuer: String?
        package var certificateNotValidAfter: String?
        /// For the token endpoint: `ok`, or what went wrong.
        package var token: String?
        /// The token answer's HTTP status.
        package var tokenStatus: Int?
        /// The quota headers the token answer carried (`quota-limit`, `quota-used`, ...).
        package var quotaHeaders: [String: String]?
        package var ok: Bool
        package var problem: String?

        enum CodingKeys: String, CodingKey {
            case role, url, host, proxy, token, ok, problem
            case proxySetting = "proxy_setting"
            case certificateSubject = "certificate_subject"
            case certificateIssuer = "certificate_issuer"
            case certificateNotValidAfter = "certificate_not_valid_after"
            case tokenStatus = "token_status"
            case quotaHeaders = "quota_headers"
        }
    }

    /// A PostgreSQL state, reached as a run reaches it.
    package struct State: Sendable, Codable {
        /// The URL as messages show it (no password).
        package var location: String
        package var ok: Bool
        /// What was found (`login runner; the batch_runner_* tables are there and usable`), or what went wrong.
        package var detail: String
    }

    package var endpoints: [Endpoint]
    /// The PostgreSQL state; nil for a SQLite one.
    package var state: State?
    package var ok: Bool
    /// 0 when every check passed, 69 when the service refuses the credentials or cannot be reached or trusted.
    package var exitCode: Int32

    enum CodingKeys: String, CodingKey {
        case endpoints, state, ok
        case exitCode = "exit_code"
    }

    /// Checks every endpoint of `configuration` on the `network` path.
    package static func run(_ configuration: JobConfiguration, credentials: ClientCredentials, network: NetworkSettings) async -> ConnectionCheck {
        SecretScrubber.shared.register(credentials)
        SecretScrubber.shared.register(network)
        var endpoints: [Endpoint] = []
        let roles = [("api", configuration.endpoints.base)] + (configuration.endpoints.token.map { [("token", $0)] } ?? [])
        for (role, url) in roles {
            let report = await ConnectionProbe.probe(url, network: network, timeout: configuration.http.timeout)
            var endpoint = Endpoint(
                role: role, url: url, host: report.host, proxy: report.proxy,
                proxySetting: report.proxySetting,
                certificateSubject: report.certificate?.subject, certificateIssuer: report.certificate?.issuer,
                certificateNotValidAfter: report.certificate.map { ISO8601DateFormatter().string(from: $0.notValidAfter) },
                ok: report.failure == nil, problem: report.failure?.message
            )
            if role == "token", report.failure == nil {
                await mintToken(configuration, credentials: credentials, network: network, into: &endpoint)
            }
            endpoints.append(endpoint)
        }
        var state: State?
        if case .postgres(let location)? = try? StoreLocation(configuration.statePath) {
            do {
                let found = try await CheckpointStores.checkConnection(configuration) ?? "connected"
                state = State(location: location.description, ok: true, detail: found)
            } catch {
                state = State(location: location.description, ok: false, detail: ExitTable.jobError(for: error).message)
            }
        }
        let ok = endpoints.allSatisfy(\.ok) && state?.ok != false
        return ConnectionCheck(endpoints: endpoints, state: state, ok: ok, exitCode: ok ? ExitStatus.success : 69)
    }

    /// Asks the job's token provider for a token, once, over a transport that keeps the answer's headers.
    private static func mintToken(_ configuration: JobConfiguration, credentials: ClientCredentials, network: NetworkSettings, into endpoint: inout Endpoint) async {
        let transport = AnswerRecorder(
            AsyncHTTPClientTransport(concurrency: 1, timeout: configuration.http.timeout, maxBodyBytes: configuration.http.maxBodyBytes, network: network)
        )
        let context = TokenContext(
            transport: transport, credentials: credentials, retry: JobConfiguration.Retry(maxAttempts: 1),
            statistics: RunStatistics(), serverClock: ServerClock(wallClock: .system()), clock: .continuous, jitter: { 0 }
        )
        do {
            _ = try await configuration.kind.makeJob(configuration).makeTokenProvider(context)?.token()
            endpoint.token = "ok"
        } catch {
            let message = ExitTable.jobError(for: error).message
            endpoint.token = "failed"
            endpoint.ok = false
            endpoint.problem = message
        }
        if let (status, headers) = transport.lastAnswer {
            endpoint.tokenStatus = status
            var quota: [String: String] = [:]
            for (name, value) in headers where name.lowercased().hasPrefix("quota-") || name.lowercased() == "retry-after" {
                quota[name.lowercased()] = value
            }
            endpoint.quotaHeaders = quota
        }
        try? await transport.shutdown()
    }
}

/// A transport that keeps the status and headers of the last answer it passed on.
private final class AnswerRecorder: HTTPTransport {
    private let base: any HTTPTransport
    private let answer = Mutex<(Int, HTTPHeaders)?>(nil)

    init(_ base: any HTTPTransport) {
        self.base = base
    }

    var lastAnswer: (Int, HTTPHeaders)? { answer.withLock { $0 } }

    func execute(_ request: APIRequest, token: String?) async -> TransportOutcome {
        let outcome = await base.execute(request, token: token)
        if case .answer(let status, let headers, _) = outcome { answer.withLock { $0 = (status, headers) } }
        return outcome
    }

    func shutdown() async throws {
        try await base.shutdown()
    }
}
