import Hummingbird
import HummingbirdTesting
import Sandbox

/// Runs `body` against a sandbox in Hummingbird's router test mode (no sockets), configured by `configure`,
/// whose clock reads `now` (seconds since 1970) when given.
func withSandbox(
    now: Double? = nil,
    _ configure: (inout SandboxConfiguration) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol, Sandbox) async throws -> Void
) async throws {
    var configuration = SandboxConfiguration()
    configure(&configuration)
    let sandbox = now.map { fixed in Sandbox(configuration: configuration, wallClock: { fixed }) } ?? Sandbox(configuration: configuration)
    let application = Application(router: sandbox.makeRouter())
    try await application.test(.router) { client in try await body(client, sandbox) }
}
