import Hummingbird
import HummingbirdTesting
import Sandbox

/// Runs `body` against a sandbox in Hummingbird's router test mode (no sockets), configured by `configure`.
func withSandbox(
    _ configure: (inout SandboxConfiguration) -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol, Sandbox) async throws -> Void
) async throws {
    var configuration = SandboxConfiguration()
    configure(&configuration)
    let sandbox = Sandbox(configuration: configuration)
    let application = Application(router: sandbox.makeRouter())
    try await application.test(.router) { client in try await body(client, sandbox) }
}
