package import AsyncHTTPClient
import RateLimiter
package import Logging
import NIOCore
import NIOPosix
package import NIOHTTP1

/// The real transport: AsyncHTTPClient, capped in time and size, redirects never followed.
package struct AsyncHTTPClientTransport: HTTPTransport {
    package let http: HTTPClient
    package let timeout: Duration
    package let maxBodyBytes: Int
    private let logger: Logger

    /// A transport on a client of its own, configured for `concurrency` rows in flight.
    package init(concurrency: Int, timeout: Duration, maxBodyBytes: Int) {
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: Self.clientConfiguration(concurrency: concurrency, timeout: timeout)
        )
        self.init(http: http, timeout: timeout, maxBodyBytes: maxBodyBytes)
    }

    package init(http: HTTPClient, timeout: Duration, maxBodyBytes: Int) {
        self.http = http
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        // AsyncHTTPClient logs only at debug and trace, and its lines carry request URLs, which carry phone
        // numbers: it gets no logger at all. (A real one also cost a metadata copy per request: 3% of the
        // runner's CPU at 100,000 rows.)
        self.logger = Logger(label: "batch-runner.http", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// The client configuration every run uses: redirects are never followed (a redirect to another host would
    /// carry the bearer token there), and there are as many connections per host as rows in flight.
    package static func clientConfiguration(concurrency: Int, timeout: Duration) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10), read: .nanoseconds(Int64(timeout.seconds * 1e9)))
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(concurrency, 8)
        )
        configuration.decompression = .disabled
        return configuration
    }

    /// Whether `error` means no connection was made (refused, unreachable, connect timeout): nothing was sent.
    static func isConnectFailure(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError: return true
        case let error as HTTPClientError: return error == .connectTimeout
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case let error as IOError: return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode)
        default: return false
        }
    }

    package func shutdown() async throws {
        try await http.shutdown()
    }

    package func execute(_ request: APIRequest, token: String?) async -> TransportOutcome {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let token { outgoing.headers.add(name: "Authorization", value: "Bearer \(token)") }
        outgoing.headers.add(name: "User-Agent", value: "batch-runner/1")
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await http.execute(outgoing, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)), logger: logger)
            let contentLength = response.headers.first(name: "content-length").flatMap(Int.init)
            if let contentLength, contentLength > maxBodyBytes { return .tooLarge(headers: response.headers) }
            do {
                let buffer = try await response.body.collect(upTo: maxBodyBytes)
                return .answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
            } catch is NIOTooManyBytesError {
                return .tooLarge(headers: response.headers)
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .noAnswer("no answer within http.timeout (\(Int(timeout.seconds)) s)", mayHaveArrived: true)
        } catch is CancellationError {
            return .noAnswer("cancelled", mayHaveArrived: true)
        } catch {
            // AHC and NIO describe transport failures without URLs or headers, so no personal data leaks here.
            return .noAnswer("transport error (\(String(String(describing: error).prefix(120))))", mayHaveArrived: !Self.isConnectFailure(error))
        }
    }
}
