import Crypto
import Foundation

/// Checks ID Scan's bearer tokens: `Authorization: Bearer <jwt>`, a JWT signed HS256 with the secret's UTF-8 bytes,
/// header `{"alg":"HS256","typ":"JWT","kid":<key id>}`, payload with integer `iat`, `nbf` and `exp` (UNIX seconds).
struct IDScanJWT {
    /// The longest lifetime (`exp - iat`) the service accepts, in seconds.
    static let maximumLifetime = 3_600

    struct Claims: Equatable {
        var keyID: String
        var issuedAt: Int
        var notBefore: Int
        var expires: Int
    }

    /// Why a token was refused; `message` goes into the 401 answer.
    enum Failure: Error, Equatable {
        case missing, malformed, unsupportedAlgorithm, unknownKeyID, badSignature, lifetimeTooLong, notYetValid, expired

        var message: String {
            switch self {
            case .missing: "Missing bearer token"
            case .malformed: "Malformed token"
            case .unsupportedAlgorithm: "Malformed token: alg must be HS256 and typ JWT"
            case .unknownKeyID: "Unknown kid"
            case .badSignature: "Bad signature"
            case .lifetimeTooLong: "Token lifetime (exp - iat) exceeds \(IDScanJWT.maximumLifetime) seconds"
            case .notYetValid: "Token not yet valid (nbf)"
            case .expired: "Token expired (exp)"
            }
        }
    }

    private struct Header: Decodable {
        var alg: String
        var typ: String?
        var kid: String?
    }

    /// `Int` fields: JSONDecoder refuses fractions, strings and Booleans.
    private struct Payload: Decodable {
        var iat: Int
        var nbf: Int
        var exp: Int
    }

    var keyID: String
    var secret: String
    var leewaySeconds: Int

    /// Checks an `Authorization` header value at server time `now` (seconds since 1970).
    func verify(authorization: String?, now: Double) -> Result<Claims, Failure> {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return .failure(.missing) }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerBytes = Self.base64URLDecoded(parts[0]),
            let payloadBytes = Self.base64URLDecoded(parts[1]),
            let signature = Self.base64URLDecoded(parts[2]),
            let header = try? JSONDecoder().decode(Header.self, from: headerBytes)
        else { return .failure(.malformed) }
        guard header.alg == "HS256", header.typ == "JWT" else { return .failure(.unsupportedAlgorithm) }
        guard header.kid == keyID else { return .failure(.unknownKeyID) }

        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        let key = SymmetricKey(data: Data(secret.utf8))
        // isValidAuthenticationCode compares in constant time.
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            return .failure(.badSignature)
        }

        guard let payload = try? JSONDecoder().decode(Payload.self, from: payloadBytes) else { return .failure(.malformed) }
        guard payload.exp - payload.iat <= Self.maximumLifetime else { return .failure(.lifetimeTooLong) }
        let leeway = Double(leewaySeconds)
        guard now + leeway >= Double(payload.nbf) else { return .failure(.notYetValid) }
        guard now - leeway < Double(payload.exp) else { return .failure(.expired) }
        return .success(Claims(keyID: keyID, issuedAt: payload.iat, notBefore: payload.nbf, expires: payload.exp))
    }

    /// Base64url without padding (RFC 7515); nil for any other character or an impossible length.
    static func base64URLDecoded(_ text: Substring) -> Data? {
        guard !text.isEmpty, text.utf8.count % 4 != 1 else { return nil }
        let isAlphabet = text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default:
                false
            }
        }
        guard isAlphabet else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
