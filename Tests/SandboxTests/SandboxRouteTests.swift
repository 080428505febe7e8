import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Sandbox
import Testing

/// The sandbox's routes through Hummingbird's router test mode (no sockets).
@Suite struct SandboxRouteTests {
    let base = "/communication/kpn/numberverify"

    static func token(_ client: any TestClientProtocol, scopes: String = "operator_lookup", secret: String = "sandbox-secret") async throws -> String? {
        try await client.execute(
            uri: "/communication/kpn/numberverify/token",
            method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "client_id=sandbox-client&client_secret=\(secret)&scopes=\(scopes)")
        ) { response in
            let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
            return object?["access_token"] as? String
        }
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] ?? [:]
    }

    @Test func issuesNumberVerifyTokensAndRefusesBadCredentials() async throws {
        try await withSandbox { client, _ in
            #expect(try await Self.token(client) != nil)
            try await client.execute(
                uri: "\(base)/token",
                method: .post,
                body: ByteBuffer(string: "client_id=sandbox-client&client_secret=nope&scopes=operator_lookup")
            ) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("invalid_client"))
            }
        }
    }

    @Test func theGatewayTokenAnswersWithStringsOnly() async throws {
        try await withSandbox { client, _ in
            try await client.execute(
                uri: "/oauth/client_credential/accesstoken?grant_type=client_credentials",
                method: .post,
                body: ByteBuffer(string: "client_id=sandbox-client&client_secret=sandbox-secret")
            ) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["expires_in"] as? String == "3600")
                #expect(object.values.allSatisfy { $0 is String })
            }
            try await client.execute(
                uri: "/oauth/client_credential/accesstoken?grant_type=client_credentials",
                method: .post,
                body: ByteBuffer(string: "client_id=sandbox-client&client_secret=wrong")
            ) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains(#""ErrorCode":"invalid_client""#))
            }
        }
    }

    @Test func answersInsightsDeterministicallyWithQuotaHeaders() async throws {
        try await withSandbox({ $0.quota = .init(limit: 100, interval: 1, unit: .minute) }) { client, _ in
            let token = try #require(try await Self.token(client))
            try await client.execute(uri: "\(base)/insights/31612345678", method: .post, headers: [.authorization: "Bearer \(token)"], body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .ok)
                let lookup = try json(response)["operator_lookup"] as? [String: Any]
                let expected = try #require(SandboxNumbers.insight(for: "31612345678"))
                #expect(lookup?["operatorName"] as? String == expected.operatorName)
                #expect(lookup?["regionCode"] as? String == "NL")
                #expect(response.headers[HTTPField.Name("quota-limit")!] == "100")
                #expect(response.headers[HTTPField.Name("quota-used")!] == "1")
                #expect(response.headers[HTTPField.Name("quota-time-unit")!] == "minute")
                #expect(response.headers[HTTPField.Name("quota-reset-UTC")!]?.count == 13)
                #expect(response.headers[HTTPField.Name("sunset")!] == "n/a")
            }
            try await client.execute(uri: "\(base)/insights/31612345404", method: .post, headers: [.authorization: "Bearer \(token)"], body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .notFound)
                let body = try json(response)
                #expect(body["error_code"] as? Int == 404)
            }
        }
    }

    @Test func answers429WithTheApigeeFaultOnceTheQuotaIsSpent() async throws {
        try await withSandbox({ $0.quota = .init(limit: 2, interval: 1, unit: .hour); $0.sendsRetryAfter = true }) { client, sandbox in
            let token = try #require(try await Self.token(client))
            for _ in 0..<2 {
                try await client.execute(uri: "\(base)/insights/31612345678", method: .post, headers: [.authorization: "Bearer \(token)"]) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "\(base)/insights/31612345678", method: .post, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .tooManyRequests)
                #expect(String(buffer: response.body).contains("policies.ratelimit.QuotaViolation"))
                #expect(response.headers[HTTPField.Name("quota-used")!] == "2")
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 3_500)
            }
            #expect(sandbox.log.snapshot.count(.rateLimited) == 1)
        }
    }

    @Test(arguments: SandboxConfiguration.ResetFormat.allCases)
    func sendsTheResetInEveryForm(format: SandboxConfiguration.ResetFormat) async throws {
        try await withSandbox({ $0.resetFormat = format }) { client, _ in
            let token = try #require(try await Self.token(client))
            try await client.execute(uri: "\(base)/insights/31612345678", method: .post, headers: [.authorization: "Bearer \(token)"]) { response in
                let value = try #require(response.headers[HTTPField.Name("quota-reset-UTC")!])
                switch format {
                case .epochMilliseconds: #expect(value.count == 13 && Int(value) != nil)
                case .epochSeconds: #expect(value.count == 10 && Int(value) != nil)
                case .iso8601: #expect(value.hasSuffix("Z") && value.contains("T"))
                case .rfc1123: #expect(value.hasSuffix(" GMT") && value.contains(","))
                case .notAvailable: #expect(value == "n/a")
                }
            }
        }
    }

    @Test func rejectsExpiredAndUnknownTokensWithOAuthFaults() async throws {
        try await withSandbox({ $0.tokenLifetimeSeconds = 0 }) { client, _ in
            let token = try #require(try await Self.token(client))
            try await client.execute(uri: "\(base)/insights/31612345678", method: .post, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("oauth.v2.AccessTokenExpired"))
            }
            try await client.execute(uri: "\(base)/insights/31612345678", method: .post, headers: [.authorization: "Bearer forged"]) { response in
                #expect(String(buffer: response.body).contains("oauth.v2.InvalidAccessToken"))
            }
        }
    }

    @Test func pollsDeviceMatchesInBothWireForms() async throws {
        for bare in [false, true] {
            try await withSandbox({ $0.sendsBareDeviceMatchIDs = bare }) { client, _ in
                let token = try #require(try await Self.token(client, scopes: "operator_lookup,device_match"))
                let match = try await client.execute(uri: "\(base)/insights/31612345670", method: .post, headers: [.authorization: "Bearer \(token)"]) { response in
                    try json(response)["device_match"] as? [String: String]
                }
                let session = try #require(match)
                let poll: TestResponse
                if bare {
                    let id = try #require(session["polling_id"])
                    #expect(id.count == 32)
                    poll = try await client.execute(uri: "\(base)/polling/\(id)", method: .get, headers: [.authorization: "Bearer \(token)"]) { $0 }
                } else {
                    let uri = try #require(session["polling_uri"])
                    poll = try await client.execute(uri: "\(base)/polling", method: .get, headers: [.authorization: "Bearer \(token)", HTTPField.Name("polling_uri")!: uri]) { $0 }
                }
                let errors = try json(poll)["errors"] as? [[String: String]]
                #expect(errors?.first?["device_match"] == "AVAILABLE")
            }
        }
    }

    @Test func injectsServerErrorsAtTheConfiguredRate() async throws {
        try await withSandbox({ $0.faultRate = 1 }) { client, sandbox in
            let token = try #require(try await Self.token(client))
            for _ in 0..<5 {
                try await client.execute(uri: "\(base)/insights/31612345678", method: .post, headers: [.authorization: "Bearer \(token)"]) { response in
                    #expect([500, 502, 503].contains(response.status.code))
                }
            }
            #expect(sandbox.log.snapshot.count(.fault) == 5)
        }
    }

    @Test func answersAreDeterministicFromTheNumber() {
        #expect(SandboxNumbers.insight(for: "31612345404") == nil)
        #expect(SandboxNumbers.insight(for: "447911123456")?.regionCode == "GB")
        #expect(SandboxNumbers.insight(for: "31612345678") == SandboxNumbers.insight(for: "31612345678"))
        #expect(SandboxNumbers.deviceMatch(for: "31612345671") == "AVAILABLE")
        #expect(SandboxNumbers.deviceMatch(for: "31612345675") == "UNAVAILABLE")
        #expect(SandboxNumbers.deviceMatch(for: "31612345679") == nil)
    }
}
