import Foundation
import Synchronization

/// The secret values this process knows (the client or ID Scan secret, a proxy's password, every token it minted
/// or signed) and their removal from text a server sent.
///
/// A service that echoes the request back (a misconfigured gateway, a debugging proxy) would otherwise put
/// `client_secret=...` into a row's error, the closing message or summary.json. Server text is scrubbed where it
/// becomes a message or a stored field (``GatewayAnswer/describe(status:body:)``, every row's completion), and the
/// log handlers scrub every line as a last net. Each secret is also known in the forms a request carries it:
/// form-encoded (the token request's body) and, for a proxy, as its `Basic` credentials.
package final class SecretScrubber: Sendable {
    /// The process's scrubber: secrets are the process's, whichever run or check registered them.
    package static let shared = SecretScrubber()

    /// What a secret becomes.
    package static let replacement = "[secret]"

    /// Values shorter than this are not scrubbed: they would mangle ordinary words, and no real secret is so short.
    static let shortest = 6
    /// Tokens kept: a long run mints many, and only the recent ones can still come back.
    static let tokensKept = 16

    private struct Known {
        var fixed: [String] = []
        var tokens: [String] = []
        var all: [String] { fixed + tokens }
    }

    private let known = Mutex(Known())

    package init() {}

    /// Registers a long-lived secret (a client secret, a proxy password).
    package func register(secret: String) {
        let forms = Self.forms(of: secret)
        guard !forms.isEmpty else { return }
        known.withLock { known in
            for form in forms where !known.fixed.contains(form) { known.fixed.append(form) }
            // The longest first, so a secret inside another's form is not replaced in part.
            known.fixed.sort { $0.utf8.count > $1.utf8.count }
        }
    }

    /// Registers a proxy's user and password in the form its `Proxy-Authorization: Basic` header carries them.
    package func register(proxyUser user: String, password: String) {
        register(secret: password)
        register(secret: Data("\(user):\(password)".utf8).base64EncodedString())
    }

    /// Registers the secret of a run's or a check's credentials.
    package func register(_ credentials: ClientCredentials?) {
        if let credentials { register(secret: credentials.secret) }
    }

    /// Registers the passwords of the proxies a run or a check goes through.
    package func register(_ network: NetworkSettings) {
        for proxy in [network.httpsProxy].compactMap({ $0?.server }) {
            if let password = proxy.password { register(proxyUser: proxy.username ?? "", password: password) }
        }
    }

    /// Registers a token this process minted or signed.
    package func register(token: String) {
        guard token.utf8.count >= Self.shortest else { return }
        known.withLock { known in
            guard !known.tokens.contains(token) else { return }
            known.tokens.append(token)
            if known.tokens.count > Self.tokensKept { known.tokens.removeFirst() }
        }
    }

    /// `text` with every known secret replaced by ``replacement``.
    package func scrub(_ text: String) -> String {
        let secrets = known.withLock { $0.all }
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: Self.replacement)
        }
        return text
    }

    /// `text` scrubbed, or nil.
    package func scrub(_ text: String?) -> String? {
        text.map { scrub($0) }
    }

    private static func forms(of secret: String) -> [String] {
        guard secret.utf8.count >= shortest else { return [] }
        let encoded = GatewayToken.formEncode(secret)
        return encoded == secret ? [secret] : [secret, encoded]
    }
}
