import Foundation
import Synchronization

/// Issues and checks the sandbox's bearer tokens: opaque random strings that expire after a set lifetime.
final class TokenIssuer: Sendable {
    struct Grant: Sendable {
        var client: String
        var scopes: Set<String>
        var expiresAt: Double
    }

    enum Check {
        case valid(Grant)
        case expired
        case invalid
    }

    private let grants = Mutex<[String: Grant]>([:])
    private let lifetime: Double

    init(lifetimeSeconds: Int) {
        lifetime = Double(lifetimeSeconds)
    }

    func issue(client: String, scopes: Set<String>, now: Double) -> (token: String, lifetime: Int) {
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let token = Data(bytes).base64EncodedString().replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "+", with: "-")
        grants.withLock { $0[token] = Grant(client: client, scopes: scopes, expiresAt: now + lifetime) }
        return (token, Int(lifetime))
    }

    /// Checks an `Authorization` header value.
    func check(authorization: String?, now: Double) -> Check {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return .invalid }
        let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard let grant = grants.withLock({ $0[token] }) else { return .invalid }
        return now < grant.expiresAt ? .valid(grant) : .expired
    }
}
