package import AsyncHTTPClient
import Foundation
import RateLimiter
package import Logging
import NIOCore
import NIOPosix
package import NIOHTTP1
import Synchronization

/// The real transport: AsyncHTTPClient, capped in time and size, redirects never followed, through the proxy
/// ``NetworkSettings`` name for each host and trusting the CAs they add.
///
/// There is one client (one connection pool) per route: direct, and through the https proxy (CONNECT tunnels);
/// connections are reused across requests. An http endpoint (loopback only) always goes direct: through a proxy
/// its requests, the client secret among them, would travel in clear to the proxy's host. A request's route is
/// decided once per origin.
package final class AsyncHTTPClientTransport: HTTPTransport {
    private let direct: HTTPClient
    private let viaHTTPSProxy: HTTPClient?
    private let network: NetworkSettings
    private let routes = Mutex([Substring: Route]())
    private let diagnoses = Mutex([ConnectionFailure: ConnectionFailure]())
    package let timeout: Duration
    package let maxBodyBytes: Int
    private let logger: Logger

    private struct Route: Sendable {
        /// The client that carries the origin's requests.
        var client: HTTPClient
        /// `host[:port]` as the URL gives it, for messages.
        var host: String
        /// The proxy, masked, for messages; nil when direct.
        var proxy: String?
    }

    /// A transport with clients of its own, configured for `concurrency` rows in flight.
    package init(concurrency: Int, timeout: Duration, maxBodyBytes: Int, network: NetworkSettings = NetworkSettings()) {
        func client(proxy: NetworkSettings.Proxy?) -> HTTPClient {
            HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: Self.clientConfiguration(concurrency: concurrency, timeout: timeout, network: network, proxy: proxy?.server)
            )
        }
        self.direct = client(proxy: nil)
        self.viaHTTPSProxy = network.httpsProxy.map { client(proxy: $0) }
        self.network = network
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        // AsyncHTTPClient logs only at debug and trace, and its lines carry request URLs, which carry phone
        // numbers: it gets no logger at all. (A real one also cost a metadata copy per request: 3% of the
        // runner's CPU at 100,000 rows.)
        self.logger = Logger(label: "batch-runner.http", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// The client configuration every run uses: redirects are never followed (a redirect to another host would
    /// carry the bearer token there), as many connections per host as rows in flight, and a connection attempt
    /// capped at 10 s or half of `timeout`, so that a connection failure is told apart from a slow answer.
    ///
    /// A failed connection attempt is not retried by the client: it fails the requests waiting for it at once, and
    /// the run decides (a refused certificate or proxy stops it with 69 after one handshake, not after a storm of
    /// them until the deadline; an outage after the first answers is retried with the run's own backoff).
    package static func clientConfiguration(
        concurrency: Int, timeout: Duration, network: NetworkSettings = NetworkSettings(), proxy: ProxyServer? = nil
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = network.trust.tlsConfiguration
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: TimeAmount(NetworkSettings.connectTimeout(within: timeout)), read: TimeAmount(timeout))
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(concurrency, 8)
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        if let proxy {
            let authorization = proxy.username.map { HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "") }
            configuration.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
        }
        return configuration
    }

    /// Shuts every client down, then throws the first error any of them gave.
    package func shutdown() async throws {
        var firstError: (any Error)?
        for client in [direct, viaHTTPSProxy].compactMap({ $0 }) {
            do { try await client.shutdown() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    package func execute(_ request: APIRequest, token: String?) async -> TransportOutcome {
        // Without proxies every request goes direct: no route to look up.
        let proxied = viaHTTPSProxy == nil ? nil : route(for: request.url)
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let token { outgoing.headers.add(name: "Authorization", value: "Bearer \(token)") }
        outgoing.headers.add(name: "User-Agent", value: RunnerVersion.userAgent)
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let http = proxied?.client ?? direct
        // http.timeout bounds the whole exchange, head and body: a gateway that sends its head and then trickles
        // the body must not hold a row (and the run's lock) forever.
        let deadline = ContinuousClock.now.advanced(by: timeout)
        do {
            let response = try await http.execute(outgoing, deadline: .now() + TimeAmount(timeout), logger: logger)
            let contentLength = response.headers.first(name: "content-length").flatMap(Int.init)
            if let contentLength, contentLength > maxBodyBytes { return .tooLarge(headers: response.headers) }
            do {
                guard let buffer = try await Self.collect(response.body, upTo: maxBodyBytes, before: deadline) else {
                    return .noAnswer("the answer did not complete within http.timeout (\(Int(timeout.seconds)) s)", mayHaveArrived: true)
                }
                return .answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
            } catch is NIOTooManyBytesError {
                return .tooLarge(headers: response.headers)
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .noAnswer("no answer within http.timeout (\(Int(timeout.seconds)) s)", mayHaveArrived: true)
        } catch is CancellationError {
            return .noAnswer("cancelled", mayHaveArrived: true)
        } catch {
            let route = proxied ?? route(for: request.url)
            if let failure = ConnectionFailure.classify(error, host: route.host, proxy: route.proxy) {
                return .connectionFailed(await diagnosed(failure, url: request.url))
            }
            // AHC and NIO describe transport failures without URLs or headers, so no personal data leaks here.
            return .noAnswer("transport error (\(String(String(describing: error).prefix(120))))", mayHaveArrived: true)
        }
    }

    /// The whole body, or nil when `deadline` comes first (the body's stream is then cancelled, which closes the
    /// connection).
    private static func collect(_ body: HTTPClientResponse.Body, upTo limit: Int, before deadline: ContinuousClock.Instant) async throws -> ByteBuffer? {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: limit) }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// `failure` made precise: AsyncHTTPClient tells neither why a certificate was refused nor what a proxy
    /// answered, so a probe connection looks (bounded by `http.timeout`, in the caller's task), and its finding
    /// is kept for every later meeting of the same failure (workers that meet it at the same moment each probe;
    /// the run stops on it anyway).
    private func diagnosed(_ failure: ConnectionFailure, url: String) async -> ConnectionFailure {
        if case .unreachable = failure { return failure }
        if let known = diagnoses.withLock({ $0[failure] }) { return known }
        let report = await ConnectionProbe.probe(url, network: network, timeout: timeout)
        let diagnosis: ConnectionFailure
        switch (failure, report.failure) {
        case (.untrustedCertificate, .untrustedCertificate(let host, let reason)?): diagnosis = .untrustedCertificate(host: host, reason: reason)
        case (.proxyRefused, .proxyRefused(let proxy, let answer)?): diagnosis = .proxyRefused(proxy: proxy, answer: answer)
        default: diagnosis = failure
        }
        diagnoses.withLock { $0[failure] = diagnosis }
        return diagnosis
    }

    /// The route of `url`'s origin (`https://host:port`), decided on its first request.
    private func route(for url: String) -> Route {
        let origin = Self.origin(of: url)
        if let route = routes.withLock({ $0[origin] }) { return route }
        let components = URLComponents(string: url)
        let host = components.map { components in
            let name = components.host ?? "?"
            return components.port.map { HostNames.authority(name, port: $0) } ?? name
        } ?? "?"
        let proxy = components.flatMap { network.proxy(for: $0) }
        let route = Route(client: proxy == nil ? direct : viaHTTPSProxy ?? direct, host: host, proxy: proxy?.server.masked)
        // Keyed by a copy of the origin alone: a slice of the URL would keep its phone number alive.
        routes.withLock { $0[Substring(String(origin))] = route }
        return route
    }

    /// `scheme://authority` of `url`: everything up to the first `/` after `://`.
    private static func origin(of url: String) -> Substring {
        guard let separator = url.range(of: "://") else { return Substring(url) }
        let end = url[separator.upperBound...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        return url[..<end]
    }
}
