import AsyncHTTPClient
import NIOCore
import NIOPosix
import NIOSSL

/// A request that could not reach the API for a reason sending again will not fix: the run stops with 69
/// (someone must act), every row still pending.
///
/// ``unreachable`` is the exception: it stops the run only before the run's first answer; after that an outage
/// is transient (75 once the retry budget is spent), as it always was.
package enum ConnectionFailure: Error, Sendable, Hashable {
    /// The API's certificate is not trusted: `reason` is `unknown issuer`, `expired`, `not yet valid` or
    /// `name mismatch`.
    case untrustedCertificate(host: String, reason: String)
    /// The proxy (named masked) refused the connection, asked for authentication, or could not reach the API.
    case proxyRefused(proxy: String, answer: String)
    /// No connection to the API's host or the proxy: DNS failure, connection refused, no route, timeout.
    case unreachable(host: String, cause: String)

    /// The sentence for the user: what failed, where, and what to do.
    package var message: String {
        switch self {
        case .untrustedCertificate(let host, let reason):
            "The TLS certificate of \(host) is not trusted (\(reason)). \(Self.fix(forCertificate: reason)) Rows stay pending; run again once fixed."
        case .proxyRefused(let proxy, let answer):
            "The proxy \(proxy) \(answer). Check http.proxy (or https_proxy) and the proxy's user and password, or list the host in http.no_proxy. Rows stay pending; run again once fixed."
        case .unreachable(let host, let cause):
            "Cannot connect to \(host): \(cause). Check the endpoint URL, DNS, the firewall and the proxy settings (http.proxy, https_proxy); `batch-runner validate JOB --connect` checks the path. Rows stay pending; run again once fixed."
        }
    }

    private static func fix(forCertificate reason: String) -> String {
        switch reason {
        case "expired", "not yet valid":
            "Check the machine's clock; if it is right, the service (or a TLS-inspecting gateway on the way) presents a certificate outside its validity, which only its operator can fix."
        case "name mismatch":
            "The certificate is for another host: check the endpoint URL, and whether a TLS-inspecting gateway signs for this host."
        default:
            "If your network inspects TLS with a private CA, give its certificate in http.ca_file (a PEM file) or SSL_CERT_FILE."
        }
    }
}

extension ConnectionFailure {
    /// The connection failure `error` (from AsyncHTTPClient, NIO or NIOSSL) stands for, or nil when the error is
    /// an ordinary transient one (the connection broke after it was made, a timeout waiting for the answer).
    ///
    /// - Parameters:
    ///   - host: The API's host (and port, when not the default), for messages.
    ///   - proxy: The proxy the request went through, masked; nil when direct.
    static func classify(_ error: any Error, host: String, proxy: String?) -> ConnectionFailure? {
        let via = proxy.map { " (through the proxy \($0))" } ?? ""
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .proxyAuthenticationRequired:
                return proxy.map { .proxyRefused(proxy: $0, answer: "answered 407 Proxy Authentication Required: it wants a (different) user and password") }
            case .invalidProxyResponse:
                return proxy.map { .proxyRefused(proxy: $0, answer: "refused to open a tunnel to \(host) (it answered the CONNECT with an error status; it may not reach the host, or not allow it)") }
            case .httpProxyHandshakeTimeout:
                return proxy.map { .proxyRefused(proxy: $0, answer: "did not answer the CONNECT to \(host) in time") }
            case .connectTimeout:
                return .unreachable(host: proxy ?? host, cause: "the connection timed out\(proxy == nil ? "" : " (the proxy)")")
            case .tlsHandshakeTimeout:
                return .unreachable(host: host, cause: "the TLS handshake timed out\(via)")
            default:
                return nil
            }
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return .untrustedCertificate(host: host, reason: "name mismatch")
        case let error as NIOSSLError:
            // Only a failed handshake means nothing was sent; other TLS errors (an unclean shutdown) can come
            // after the request left, and stay ordinary transport errors.
            guard case .handshakeFailed(let inner) = error else { return nil }
            if "\(inner)".contains("CERTIFICATE_VERIFY_FAILED") {
                return .untrustedCertificate(host: host, reason: "unknown issuer")
            }
            return .unreachable(host: host, cause: "the TLS handshake failed\(via): \(String(String(describing: inner).prefix(160)))")
        case let error as NIOConnectionError:
            let target = proxy ?? host
            if error.dnsAAAAError != nil || error.dnsAError != nil, error.connectionErrors.isEmpty {
                return .unreachable(host: target, cause: "the name does not resolve (DNS)")
            }
            if let first = error.connectionErrors.first {
                return .unreachable(host: target, cause: describe(first.error))
            }
            return .unreachable(host: target, cause: "no address to connect to")
        case let error as IOError where [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode):
            return .unreachable(host: proxy ?? host, cause: describe(error))
        case let error as ChannelError:
            if case .connectTimeout = error { return .unreachable(host: proxy ?? host, cause: "the connection timed out") }
            return nil
        default:
            return nil
        }
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? IOError else { return String(String(describing: error).prefix(120)) }
        switch error.errnoCode {
        case ECONNREFUSED: return "connection refused"
        case ENETUNREACH: return "network unreachable"
        case EHOSTUNREACH: return "no route to host"
        case ETIMEDOUT: return "the connection timed out"
        default: return String(String(describing: error).prefix(120))
        }
    }
}
