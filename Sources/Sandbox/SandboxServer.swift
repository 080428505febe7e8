import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// The sandbox's HTTP/1.1 server, plain or TLS, counting the connections it accepts (with TLS, each is one full
/// handshake: what the benchmarks compare against the rows sent to show that connections are reused).
enum SandboxServer {
    static func builder(tls: SandboxConfiguration.TLS?, log: RequestLog) throws -> HTTPServerBuilder {
        let tlsConfiguration = try tls?.serverConfiguration()
        return HTTPServerBuilder { responder in
            let http = HTTP1Channel(responder: responder)
            guard let tlsConfiguration else { return CountedChildChannel(base: http, log: log) }
            return CountedChildChannel(base: try TLSChannel(http, tlsConfiguration: tlsConfiguration), log: log)
        }
    }
}

/// A child channel that records each connection it sets up, then behaves as `base`.
private struct CountedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let log: RequestLog

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        log.recordConnection()
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
