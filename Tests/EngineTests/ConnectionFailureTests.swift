import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing

@testable import Jobs

/// How errors of AsyncHTTPClient, NIO and NIOSSL become connection failures, and how a refused certificate's
/// reason is told.
@Suite struct ConnectionFailureTests {
    @Test func clientAndSocketErrorsAreClassified() {
        let proxy = "http://ops:***@proxy:3128"
        #expect(ConnectionFailure.classify(HTTPClientError.proxyAuthenticationRequired, host: "api:443", proxy: proxy)
            == .proxyRefused(proxy: proxy, answer: "answered 407 Proxy Authentication Required: it wants a (different) user and password"))
        #expect(ConnectionFailure.classify(HTTPClientError.proxyAuthenticationRequired, host: "api:443", proxy: nil) == nil)
        #expect(ConnectionFailure.classify(IOError(errnoCode: ECONNREFUSED, reason: "connect"), host: "api:443", proxy: nil)
            == .unreachable(host: "api:443", cause: "connection refused"))
        #expect(ConnectionFailure.classify(IOError(errnoCode: EHOSTUNREACH, reason: "connect"), host: "api:443", proxy: proxy)
            == .unreachable(host: proxy, cause: "no route to host"), "with a proxy, it is the proxy that cannot be reached")
        #expect(ConnectionFailure.classify(NIOSSLExtraError.failedToValidateHostname, host: "api:443", proxy: nil)
            == .untrustedCertificate(host: "api:443", reason: "name mismatch"))
        // After the request left: an ordinary transport error, never "nothing was sent".
        #expect(ConnectionFailure.classify(NIOSSLError.uncleanShutdown, host: "api:443", proxy: nil) == nil)
        #expect(ConnectionFailure.classify(HTTPClientError.remoteConnectionClosed, host: "api:443", proxy: nil) == nil)
        #expect(ConnectionFailure.classify(HTTPClientError.readTimeout, host: "api:443", proxy: nil) == nil)
    }

    @Test func aRefusedCertificatesReasonComesFromItsValidityFirst() {
        let now = Date()
        func certificate(from: Date, to: Date) -> ConnectionProbe.CertificateSummary {
            .init(subject: "CN=api", issuer: "CN=ca", notValidBefore: from, notValidAfter: to)
        }
        let unknown = ConnectionFailure.untrustedCertificate(host: "api", reason: "unknown issuer")
        let mismatch = ConnectionFailure.untrustedCertificate(host: "api", reason: "name mismatch")
        #expect(ConnectionProbe.reason(certificate(from: now - 10, to: now - 1), failure: unknown, now: now) == "expired")
        #expect(ConnectionProbe.reason(certificate(from: now + 10, to: now + 20), failure: unknown, now: now) == "not yet valid")
        #expect(ConnectionProbe.reason(certificate(from: now - 10, to: now + 10), failure: mismatch, now: now) == "name mismatch")
        #expect(ConnectionProbe.reason(certificate(from: now - 10, to: now + 10), failure: unknown, now: now) == "unknown issuer")
    }

    @Test func messagesNameTheHostTheReasonAndTheFix() {
        let certificate = ConnectionFailure.untrustedCertificate(host: "api-prd.kpn.com", reason: "unknown issuer").message
        #expect(certificate.contains("api-prd.kpn.com") && certificate.contains("unknown issuer") && certificate.contains("http.ca_file") && certificate.contains("SSL_CERT_FILE"))
        let proxy = ConnectionFailure.proxyRefused(proxy: "http://ops:***@proxy:3128", answer: "answered 407").message
        #expect(proxy.contains("http://ops:***@proxy:3128") && proxy.contains("answered 407") && proxy.contains("no_proxy"))
        let unreachable = ConnectionFailure.unreachable(host: "api-prd.kpn.com", cause: "the name does not resolve (DNS)").message
        #expect(unreachable.contains("api-prd.kpn.com") && unreachable.contains("DNS") && unreachable.contains("validate JOB --connect"))
    }
}
