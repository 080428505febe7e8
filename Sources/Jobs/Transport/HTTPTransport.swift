package import NIOHTTP1

/// Sends one HTTP request and reads its answer: the engine's seam to the network.
///
/// ``AsyncHTTPClientTransport`` is the real one; tests use an in-memory transport that answers from a script.
/// A transport never throws: every way a send can end is a ``TransportOutcome``.
package protocol HTTPTransport: Sendable {
    /// Sends `request`, with `Authorization: Bearer <token>` when a token is given.
    func execute(_ request: APIRequest, token: String?) async -> TransportOutcome

    /// Closes connections; called once when the run is done with the transport.
    func shutdown() async throws
}

/// What came back from one send.
package enum TransportOutcome: Sendable {
    case answer(status: Int, headers: HTTPHeaders, body: [UInt8])
    /// No answer: what went wrong, and whether the request may have reached the server (false only when the
    /// connection could not be made, so a non-idempotent request can safely be sent again).
    case noAnswer(String, mayHaveArrived: Bool)
    /// An answer whose body exceeds `http.max_body_mb`; the rest of it is not read.
    case tooLarge(headers: HTTPHeaders)
    /// No connection could be made (nothing was sent): an untrusted certificate, a refusing proxy, or no route
    /// to the host.
    case connectionFailed(ConnectionFailure)
}
