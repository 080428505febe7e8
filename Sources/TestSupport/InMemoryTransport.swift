package import Jobs
package import NIOHTTP1
import Synchronization

/// A transport that answers from a script, for engine tests: no socket, no server. Each request is recorded; the
/// answer comes from `respond`, which may suspend (on a manual clock, say) to model a slow service.
package final class InMemoryTransport: HTTPTransport {
    /// A request as the service saw it.
    package struct Sent: Sendable {
        package var method: HTTPMethod
        package var url: String
        package var headers: [(String, String)]
        package var body: [UInt8]?
        package var token: String?
    }

    private let respond: @Sendable (_ sent: Sent, _ index: Int) async -> TransportOutcome
    private let log = Mutex<[Sent]>([])
    private let isShutDown = Mutex(false)

    /// - Parameter respond: The outcome of the `index`-th request (0-based, counting every request).
    package init(respond: @escaping @Sendable (_ sent: Sent, _ index: Int) async -> TransportOutcome) {
        self.respond = respond
    }

    /// Every request sent so far, in order.
    package var sent: [Sent] { log.withLock { $0 } }

    package var wasShutDown: Bool { isShutDown.withLock { $0 } }

    package func execute(_ request: APIRequest, token: String?) async -> TransportOutcome {
        let sent = Sent(method: request.method, url: request.url, headers: request.headers, body: request.body, token: token)
        let index = log.withLock { log in
            log.append(sent)
            return log.count - 1
        }
        return await respond(sent, index)
    }

    package func shutdown() async throws {
        isShutDown.withLock { $0 = true }
    }
}

extension TransportOutcome {
    /// An answer with a JSON (or any text) body.
    package static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> TransportOutcome {
        var fields = HTTPHeaders(headers)
        if !fields.contains(name: "content-type") { fields.add(name: "Content-Type", value: "application/json") }
        return .answer(status: status, headers: fields, body: Array(body.utf8))
    }
}
