import Crypto
import Foundation
import Logging
import Testing
import TestSupport

@testable import Jobs

/// The ID Scan JWT, checked against the seed's worked example: its key id and secret, a fixed clock, 60 s.
@Suite struct IDScanTokenTests {
    let token = IDScanToken(
        keyID: "3b438437-04a4-40bb-8389-54bb02766fba",
        secret: "AC4Etykn7jusGR5FwLDAtILtQbiQbTMKedP31szXg4WlSbjGEXyNMZ"
    )

    func decode(_ part: Substring) throws -> [String: Any] {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let data = try #require(Data(base64Encoded: base64))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func followsTheWorkedExample() throws {
        let jwt = token.make(issuedAt: 1_700_000_000)
        let parts = jwt.split(separator: ".")
        #expect(parts.count == 3)
        let header = try decode(parts[0])
        #expect(header["alg"] as? String == "HS256")
        #expect(header["typ"] as? String == "JWT")
        #expect(header["kid"] as? String == "3b438437-04a4-40bb-8389-54bb02766fba")
        let payload = try decode(parts[1])
        #expect(payload["iat"] as? Int == 1_700_000_000)
        #expect(payload["nbf"] as? Int == 1_700_000_000)
        #expect(payload["exp"] as? Int == 1_700_000_060)
        #expect(!jwt.contains("=") && !jwt.contains("+") && !jwt.contains("/"))
    }

    /// Computed independently (Python's hmac and base64) for the seed's key id and secret at this instant.
    @Test func matchesAnIndependentlyComputedToken() {
        #expect(
            token.make(issuedAt: 1_700_000_000)
                == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjNiNDM4NDM3LTA0YTQtNDBiYi04Mzg5LTU0YmIwMjc2NmZiYSJ9"
                + ".eyJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDYwfQ"
                + ".lxNxk_mhkJEeUA3jbwS8tEUQEeOeUo1dReqZ23OH_JQ"
        )
    }

    @Test func isSignedWithTheSecretsUTF8Bytes() throws {
        let jwt = token.make(issuedAt: 1_700_000_000)
        let parts = jwt.split(separator: ".")
        let key = SymmetricKey(data: Array("AC4Etykn7jusGR5FwLDAtILtQbiQbTMKedP31szXg4WlSbjGEXyNMZ".utf8))
        let expected = HMAC<SHA256>.authenticationCode(for: Array("\(parts[0]).\(parts[1])".utf8), using: key)
        #expect(IDScanToken.base64URL(Array(expected)) == String(parts[2]))
        let other = IDScanToken(keyID: token.keyID, secret: "another secret").make(issuedAt: 1_700_000_000)
        #expect(other.split(separator: ".")[2] != parts[2])
    }

    @Test func isDeterministicForAFixedClock() {
        #expect(token.make(issuedAt: 42) == token.make(issuedAt: 42))
        #expect(token.make(issuedAt: 42) != token.make(issuedAt: 43))
    }

    @Test func theProviderDatesTokensByTheServersClock() async throws {
        let serverClock = ServerClock(wallClock: WallClock { 1_000_000.7 })
        serverClock.record(serverEpochSeconds: 999_880.7, atLocal: 1_000_000.7)
        let provider = IDScanToken.provider(
            credentials: ClientCredentials(id: "kid-1", secret: "s"),
            serverClock: serverClock,
            clock: EngineClock(ManualClock())
        )
        let jwt = try await provider.token()
        let payload = try decode(jwt.split(separator: ".")[1])
        #expect(payload["iat"] as? Int == 999_880)
        #expect(payload["nbf"] as? Int == 999_880)
        #expect(payload["exp"] as? Int == 999_940)
        #expect(try await provider.token() == jwt, "a valid token is reused, not signed again")
    }
}

/// The server's clock from whole-second `Date` headers.
@Suite struct ServerClockTests {
    @Test func theLargestOffsetSeenWinsOverRoundedDownDates() {
        let clock = ServerClock(wallClock: WallClock { 1_000.0 })
        clock.record(serverEpochSeconds: 1_004, atLocal: 1_000.9)  // true offset 3.95: rounded down to 3.1
        clock.record(serverEpochSeconds: 1_005, atLocal: 1_001.05)  // 3.95
        clock.record(serverEpochSeconds: 1_005, atLocal: 1_001.6)  // 3.4: rounded down again, ignored
        #expect(abs(clock.offsetSeconds - 3.95) < 1e-9)
        clock.record(serverEpochSeconds: 1_002, atLocal: 1_002)  // the server's clock was set back 4 s
        #expect(clock.offsetSeconds == 0)
    }
}
