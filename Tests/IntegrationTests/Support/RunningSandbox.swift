import Foundation
import Sandbox

/// A sandbox serving on a free loopback port, from a test's start until the test process ends.
///
/// It is never shut down early: a connection a client opened just before a test ended may still be in the
/// listening socket's queue, and NIO traps when a server that is shutting down accepts one ("Deinited
/// NIOAsyncWriter without calling finish()"). An idle server per test costs a socket and a few kilobytes.
final class RunningSandbox: Sendable {
    let sandbox: Sandbox
    let port: Int
    private let task: Task<Void, any Error>

    private init(sandbox: Sandbox, port: Int, task: Task<Void, any Error>) {
        self.sandbox = sandbox
        self.port = port
        self.task = task
    }

    static func start(_ configure: (inout SandboxConfiguration) -> Void = { _ in }) async throws -> RunningSandbox {
        var configuration = SandboxConfiguration()
        configuration.quota = nil
        configure(&configuration)
        let sandbox = Sandbox(configuration: configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await sandbox.run(port: 0) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return RunningSandbox(sandbox: sandbox, port: port, task: task)
    }

    var origin: String { "http://127.0.0.1:\(port)" }
    /// The origin of a sandbox started with `tls`: by name, as the test certificates name it.
    var httpsOrigin: String { "https://localhost:\(port)" }
    var stats: RequestLog.Stats { sandbox.log.snapshot }

    /// The environment a run needs to authenticate with this sandbox.
    var credentials: [String: String] {
        ["KPN_CLIENT_ID": sandbox.configuration.clientID, "KPN_CLIENT_SECRET": sandbox.configuration.clientSecret]
    }

    /// The environment an ID Scan run needs to authenticate with this sandbox.
    var idscanCredentials: [String: String] {
        ["IDSCAN_KEY_ID": sandbox.configuration.idscanKeyID, "IDSCAN_SECRET": sandbox.configuration.idscanSecret]
    }

}
