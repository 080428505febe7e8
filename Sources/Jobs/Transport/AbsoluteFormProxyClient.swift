import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends plain-http requests through an HTTP proxy in absolute form (`POST http://127.0.0.1:8080/path HTTP/1.1`),
/// the way proxies expect http traffic. AsyncHTTPClient cannot: it tunnels every proxied connection with CONNECT,
/// which many proxies allow to port 443 only.
///
/// Only http endpoints take this path, and those are loopback only (the sandbox, for rehearsals), so it is kept
/// simple: one connection per request, closed after the answer, the whole exchange within `timeout`.
struct AbsoluteFormProxyClient: Sendable {
    let proxy: ProxyServer
    let timeout: Duration
    let maxBodyBytes: Int
    private let proxyAuthorization: String?

    init(proxy: ProxyServer, timeout: Duration, maxBodyBytes: Int) {
        self.proxy = proxy
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        self.proxyAuthorization = proxy.basicAuthorization
    }

    /// Sends `request` (with `Authorization: Bearer <token>` when a token is given) through the proxy to `host`
    /// (`host[:port]` as the URL gives it).
    func execute(_ request: APIRequest, token: String?, host: String) async -> TransportOutcome {
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.url)
        head.headers.add(name: "Host", value: host)
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        if let token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        head.headers.add(name: "User-Agent", value: RunnerVersion.userAgent)
        if let proxyAuthorization { head.headers.add(name: "Proxy-Authorization", value: proxyAuthorization) }
        head.headers.add(name: "Content-Length", value: String(request.body?.count ?? 0))
        head.headers.add(name: "Connection", value: "close")
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(NetworkSettings.connectTimeout(within: timeout)))
                .connect(host: proxy.host, port: proxy.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            return .connectionFailed(
                ConnectionFailure.classify(error, host: host, proxy: proxy.masked)
                    ?? .unreachable(host: proxy.masked, cause: String(String(describing: error).prefix(120)))
            )
        }
        let (requestHead, body, maxBodyBytes) = (head, request.body, self.maxBodyBytes)
        let exchange: TransportOutcome? = try? await withThrowingTaskGroup(of: TransportOutcome?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(.head(requestHead))
                    if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                    try await outbound.write(.end(nil))
                    var answer: (head: HTTPResponseHead, body: [UInt8])?
                    for try await part in inbound {
                        switch part {
                        case .head(let responseHead):
                            if let length = responseHead.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                                return .tooLarge(headers: responseHead.headers)
                            }
                            answer = (responseHead, [])
                        case .body(let buffer):
                            answer?.body.append(contentsOf: buffer.readableBytesView)
                            if let answer, answer.body.count > maxBodyBytes { return .tooLarge(headers: answer.head.headers) }
                        case .end:
                            guard let answer else { return nil }
                            return outcome(of: answer.head, body: answer.body)
                        }
                    }
                    return nil
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return .noAnswer("no answer within http.timeout (\(Int(timeout.components.seconds)) s)", mayHaveArrived: true)
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        return exchange ?? .noAnswer("the proxy \(proxy.masked) closed the connection without a complete answer", mayHaveArrived: true)
    }

    /// An answer; the proxy's own 407 is a refusal of the proxy, not an answer of the API.
    private func outcome(of head: HTTPResponseHead, body: [UInt8]) -> TransportOutcome {
        if head.status == .proxyAuthenticationRequired {
            return .connectionFailed(.proxyRefused(proxy: proxy.masked, answer: "answered 407 Proxy Authentication Required: it wants a (different) user and password"))
        }
        return .answer(status: Int(head.status.code), headers: head.headers, body: body)
    }
}
