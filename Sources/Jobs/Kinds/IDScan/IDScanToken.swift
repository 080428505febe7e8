import Crypto
import Foundation

/// The bearer token ID Scan takes: a JWT signed HS256 with the credential's secret (its UTF-8 bytes as the HMAC
/// key), header `{"alg":"HS256","typ":"JWT","kid":<key id>}`, payload `iat`, `nbf` and `exp` in UNIX seconds.
package struct IDScanToken: Sendable {
    package var keyID: String
    package var secret: String
    /// How long a token is valid. Default 60 s, as in the service's worked example.
    package var lifetime: Int = 60

    package init(keyID: String, secret: String, lifetime: Int = 60) {
        self.keyID = keyID
        self.secret = secret
        self.lifetime = lifetime
    }

    /// A token issued at `epochSeconds` (whole seconds; `nbf` equals `iat`).
    package func make(issuedAt epochSeconds: Int) -> String {
        let header = #"{"alg":"HS256","typ":"JWT","kid":"\#(Self.escaped(keyID))"}"#
        let payload = #"{"iat":\#(epochSeconds),"nbf":\#(epochSeconds),"exp":\#(epochSeconds + lifetime)}"#
        let signingInput = Self.base64URL(Array(header.utf8)) + "." + Self.base64URL(Array(payload.utf8))
        let key = SymmetricKey(data: Array(secret.utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: key)
        return signingInput + "." + Self.base64URL(Array(signature))
    }

    /// Base64url without padding (RFC 7515).
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

extension IDScanToken {
    /// A provider that signs a fresh token whenever the last one nears its end. Tokens are dated by the server's
    /// clock as last seen in an answer's `Date` header, so a skewed local clock does not make them not yet valid.
    static func provider(credentials: ClientCredentials, serverClock: ServerClock, clock: EngineClock) -> TokenProvider {
        let signer = IDScanToken(keyID: credentials.id, secret: credentials.secret)
        return TokenProvider(clock: clock) {
            let token = signer.make(issuedAt: Int(serverClock.epochSeconds.rounded(.down)))
            SecretScrubber.shared.register(token: token)
            return TokenProvider.Token(value: token, lifetime: .seconds(signer.lifetime))
        }
    }
}
