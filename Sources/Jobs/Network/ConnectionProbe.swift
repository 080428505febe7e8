package import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SwiftASN1
import X509

/// Opens one connection to an endpoint the way a run would (through the proxy that applies, TLS with the run's
/// trust), and reports what it met: the route, the proxy's answer, the server's certificate. Sends no request.
///
/// `validate --connect` shows its report; a run that fails on a certificate asks it why (AsyncHTTPClient only
/// says that verification failed), by looking at the certificate over a second, unverified handshake.
package enum ConnectionProbe {
    /// What one probe found.
    package struct Report: Sendable {
        /// `host[:port]` of the endpoint.
        package var host: String
        /// The proxy, masked, or nil for a direct connection.
        package var proxy: String?
        /// Where the proxy setting came from (`http.proxy`, `https_proxy`, ...); nil for a direct connection.
        package var proxySetting: String?
        /// The certificate the server presented (https only).
        package var certificate: CertificateSummary?
        /// Why the endpoint cannot be used; nil when the connection and handshake succeeded.
        package var failure: ConnectionFailure?
    }

    /// Subject, issuer and validity of a server certificate.
    package struct CertificateSummary: Sendable, Equatable {
        package var subject: String
        package var issuer: String
        package var notValidBefore: Date
        package var notValidAfter: Date
    }

    /// Connects to `url`'s host through the route `network` gives it and completes the TLS handshake.
    package static func probe(_ url: String, network: NetworkSettings, timeout: Duration) async -> Report {
        guard let components = URLComponents(string: url), let urlHost = components.host, let scheme = components.scheme?.lowercased() else {
            return Report(host: url, proxy: nil, failure: .unreachable(host: url, cause: "not a URL"))
        }
        let host = HostNames.bare(urlHost)
        let isHTTPS = scheme == "https"
        let port = components.port ?? (isHTTPS ? 443 : 80)
        let shownHost = components.port.map { HostNames.authority(host, port: $0) } ?? host
        let proxy = network.proxy(for: components)
        var report = Report(host: shownHost, proxy: proxy?.server.masked, proxySetting: proxy?.origin)
        do {
            let channel = try await connect(host: host, port: port, proxy: proxy?.server, timeout: timeout, shownHost: shownHost)
            defer { channel.close(promise: nil) }
            guard isHTTPS else { return report }
            do {
                report.certificate = try await handshake(channel, host: host, shownHost: shownHost, tls: network.trust.tlsConfiguration, timeout: timeout)
            } catch {
                report.failure = error as? ConnectionFailure ?? ConnectionFailure.classify(error, host: shownHost, proxy: proxy?.server.masked)
                    ?? .unreachable(host: shownHost, cause: "the TLS handshake failed: \(String(describing: error).prefix(160))")
                if case .untrustedCertificate = report.failure {
                    // Look at the certificate without trusting it, to say why it is not trusted.
                    var lenient = network.trust.tlsConfiguration
                    lenient.certificateVerification = .none
                    if let second = try? await connect(host: host, port: port, proxy: proxy?.server, timeout: timeout, shownHost: shownHost) {
                        defer { second.close(promise: nil) }
                        if let certificate = try? await handshake(second, host: host, shownHost: shownHost, tls: lenient, timeout: timeout) {
                            report.certificate = certificate
                            report.failure = .untrustedCertificate(host: shownHost, reason: reason(certificate, failure: report.failure, now: Date()))
                        }
                    }
                }
            }
        } catch let failure as ConnectionFailure {
            report.failure = failure
        } catch {
            report.failure = ConnectionFailure.classify(error, host: shownHost, proxy: proxy?.server.masked)
                ?? .unreachable(host: proxy?.server.masked ?? shownHost, cause: String(String(describing: error).prefix(160)))
        }
        return report
    }

    /// Why `certificate` was refused: outside its validity first, then the verifier's own finding.
    static func reason(_ certificate: CertificateSummary, failure: ConnectionFailure?, now: Date) -> String {
        if certificate.notValidAfter < now { return "expired" }
        if certificate.notValidBefore > now { return "not yet valid" }
        if case .untrustedCertificate(_, let reason)? = failure { return reason }
        return "unknown issuer"
    }

    /// A TCP connection to `host`, or to `proxy` with a CONNECT tunnel to `host` opened.
    private static func connect(host: String, port: Int, proxy: ProxyServer?, timeout: Duration, shownHost: String) async throws -> any Channel {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(TimeAmount(NetworkSettings.connectTimeout(within: timeout)))
        guard let proxy else {
            return try await bootstrap.connect(host: host, port: port).get()
        }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: proxy.host, port: proxy.port).get()
        } catch {
            throw ConnectionFailure.classify(error, host: shownHost, proxy: proxy.masked)
                .map { failure -> ConnectionFailure in
                    if case .unreachable(_, let cause) = failure { return .proxyRefused(proxy: proxy.masked, answer: "cannot be reached (\(cause))") }
                    return failure
                } ?? .proxyRefused(proxy: proxy.masked, answer: "cannot be reached")
        }
        let target = HostNames.authority(host, port: port)
        var head = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n"
        if let authorization = proxy.basicAuthorization { head += "Proxy-Authorization: \(authorization)\r\n" }
        head += "\r\n"
        let answer = channel.eventLoop.makePromise(of: String.self)
        do {
            try await channel.eventLoop.submit {
                do {
                    try channel.pipeline.syncOperations.addHandler(TunnelAnswerHandler(answer: answer), name: "tunnel")
                } catch {
                    answer.fail(error)
                    throw error
                }
            }.get()
            try await channel.writeAndFlush(ByteBuffer(string: head)).get()
            let statusLine = try await withTimeout(timeout, on: channel.eventLoop, answer.futureResult)
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else {
                throw ConnectionFailure.proxyRefused(proxy: proxy.masked, answer: "answered the CONNECT to \(shownHost) with something that is not HTTP")
            }
            guard (200..<300).contains(status) else {
                let reasonPhrase = parts.count == 3 ? " \(parts[2].prefix(80))" : ""
                // 407 is the standard answer to missing or wrong proxy credentials; some proxies (tinyproxy) send 401.
                let what = status == 407 || status == 401
                    ? "answered \(status)\(reasonPhrase): it wants a (different) user and password"
                    : "answered the CONNECT to \(shownHost) with \(status)\(reasonPhrase)"
                throw ConnectionFailure.proxyRefused(proxy: proxy.masked, answer: what)
            }
            try await channel.pipeline.removeHandler(name: "tunnel").get()
            return channel
        } catch {
            channel.close(promise: nil)
            if error is ConnectionFailure { throw error }
            if error is ProbeTimeout {
                throw ConnectionFailure.proxyRefused(proxy: proxy.masked, answer: "did not answer the CONNECT to \(shownHost) in time")
            }
            throw ConnectionFailure.proxyRefused(proxy: proxy.masked, answer: "closed the connection during the CONNECT to \(shownHost)")
        }
    }

    /// Completes a TLS handshake on `channel` and returns the server's certificate.
    private static func handshake(_ channel: any Channel, host: String, shownHost: String, tls: TLSConfiguration, timeout: Duration) async throws -> CertificateSummary? {
        let context = try NIOSSLContext(configuration: tls)
        let done = channel.eventLoop.makePromise(of: Void.self)
        try await channel.eventLoop.submit {
            do {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: HostNames.isIPLiteral(host) ? nil : host)
                try channel.pipeline.syncOperations.addHandler(handler, name: "tls")
                try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(done: done))
            } catch {
                done.fail(error)
                throw error
            }
        }.get()
        do {
            try await withTimeout(timeout, on: channel.eventLoop, done.futureResult)
        } catch is ProbeTimeout {
            throw ConnectionFailure.unreachable(host: shownHost, cause: "the TLS handshake timed out")
        }
        guard let certificate = try await channel.nioSSL_peerCertificate().get() else { return nil }
        return summary(of: certificate)
    }

    static func summary(of certificate: NIOSSLCertificate) -> CertificateSummary? {
        guard let bytes = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: bytes) else { return nil }
        return CertificateSummary(subject: parsed.subject.description, issuer: parsed.issuer.description, notValidBefore: parsed.notValidBefore, notValidAfter: parsed.notValidAfter)
    }

    /// `future`'s value, or ``ProbeTimeout`` once `timeout` has passed.
    private static func withTimeout<Value: Sendable>(_ timeout: Duration, on eventLoop: any EventLoop, _ future: EventLoopFuture<Value>) async throws -> Value {
        let promise = eventLoop.makePromise(of: Value.self)
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(ProbeTimeout())
        }
        future.whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return try await promise.futureResult.get()
    }
}

/// A step of the probe that did not finish within the timeout.
private struct ProbeTimeout: Error {}

/// Reads a proxy's answer to CONNECT up to the end of its head, and hands over the status line.
private final class TunnelAnswerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let answer: EventLoopPromise<String>
    private var received = ByteBuffer()

    init(answer: EventLoopPromise<String>) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
        let text = String(buffer: received)
        if text.contains("\r\n\r\n") || received.readableBytes > 16_384 {
            answer.succeed(String(text.prefix { $0 != "\r" && $0 != "\n" }))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
    }
}

/// Completes `done` when the TLS handshake finishes, or fails it with the handshake's error.
private final class HandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { done.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}
