import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Sandbox
import Testing

/// ID Scan's routes through Hummingbird's router test mode (no sockets): JWT checks, transactions, results,
/// document images and audit reports.
@Suite struct IDScanRouteTests {
    let base = "/id-scan/v1"
    static let defaults = SandboxConfiguration()

    // MARK: Tokens

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// An HS256 JWT, signed here independently of the sandbox's verifier.
    static func jwt(
        kid: String = defaults.idscanKeyID,
        secret: String = defaults.idscanSecret,
        alg: String = "HS256",
        issuedAt: Int? = nil,
        notBefore: Int? = nil,
        expires: Int? = nil
    ) -> String {
        let now = Int(Date().timeIntervalSince1970)
        let iat = issuedAt ?? now
        let header = #"{"alg":"\#(alg)","typ":"JWT","kid":"\#(kid)"}"#
        let payload = #"{"iat":\#(iat),"nbf":\#(notBefore ?? iat),"exp":\#(expires ?? iat + 60)}"#
        let input = base64URL(Array(header.utf8)) + "." + base64URL(Array(payload.utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return input + "." + base64URL(signature)
    }

    static func bearer(_ token: String = jwt()) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    func json(_ response: TestResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] ?? [:]
    }

    static let createBody = ByteBuffer(string: #"{"tasks":["document_scan"],"locale":"nl-NL"}"#)

    @Test func acceptsAValidToken() async throws {
        try await withSandbox { client, _ in
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: Self.bearer(), body: Self.createBody) { response in
                #expect(response.status == .created)
            }
        }
    }

    /// Tokens the sandbox must refuse, with a word its message must contain.
    enum BadToken: String, CaseIterable, CustomTestStringConvertible {
        case wrongSecret, wrongKid, expired, notYetValid, lifetimeOverAnHour, algNone, twoParts, notBase64, missing

        var testDescription: String { rawValue }

        var authorization: String? {
            let now = Int(Date().timeIntervalSince1970)
            switch self {
            case .wrongSecret: return "Bearer " + IDScanRouteTests.jwt(secret: "not-the-secret")
            case .wrongKid: return "Bearer " + IDScanRouteTests.jwt(kid: "00000000-0000-0000-0000-000000000000")
            case .expired: return "Bearer " + IDScanRouteTests.jwt(issuedAt: now - 80, expires: now - 10)
            case .notYetValid: return "Bearer " + IDScanRouteTests.jwt(issuedAt: now, notBefore: now + 30, expires: now + 90)
            case .lifetimeOverAnHour: return "Bearer " + IDScanRouteTests.jwt(issuedAt: now, expires: now + 3_601)
            case .algNone: return "Bearer " + IDScanRouteTests.jwt(alg: "none")
            case .twoParts: return "Bearer " + IDScanRouteTests.jwt().split(separator: ".").prefix(2).joined(separator: ".")
            case .notBase64: return "Bearer a+b.c/d.e=f"
            case .missing: return nil
            }
        }

        var reason: String {
            switch self {
            case .wrongSecret: "signature"
            case .wrongKid: "kid"
            case .expired: "expired"
            case .notYetValid: "not yet valid"
            case .lifetimeOverAnHour: "lifetime"
            case .algNone, .twoParts, .notBase64: "Malformed"
            case .missing: "Missing"
            }
        }
    }

    @Test(arguments: BadToken.allCases)
    func refusesBadTokensWith401(token: BadToken) async throws {
        try await withSandbox { client, sandbox in
            var headers: HTTPFields = [:]
            if let authorization = token.authorization { headers[.authorization] = authorization }
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: headers, body: Self.createBody) { response in
                #expect(response.status == .unauthorized)
                let body = try json(response)
                #expect(body["status"] as? Int == 401)
                #expect(body["name"] as? String == "Unauthorized")
                #expect((body["message"] as? String)?.contains(token.reason) == true, "\(body)")
            }
            #expect(sandbox.log.snapshot.count(.unauthorized) == 1)
            #expect(sandbox.idscanTransactionCount == 0)
        }
    }

    @Test func allowsClockSkewWithinTheLeeway() async throws {
        let now = Int(Date().timeIntervalSince1970)
        try await withSandbox(now: Double(now), { $0.jwtLeewaySeconds = 5 }) { client, _ in
            for token in [Self.jwt(issuedAt: now, notBefore: now + 2, expires: now + 60), Self.jwt(issuedAt: now - 60, expires: now - 1)] {
                try await client.execute(uri: "\(base)/transactions", method: .post, headers: Self.bearer(token), body: Self.createBody) { response in
                    #expect(response.status == .created)
                }
            }
        }
        try await withSandbox(now: Double(now), { $0.jwtLeewaySeconds = 0 }) { client, _ in
            let token = Self.jwt(issuedAt: now - 60, expires: now - 1)
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: Self.bearer(token), body: Self.createBody) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    // MARK: Transactions

    @Test(arguments: [
        (#"{"tasks":["document_scan"]}"#, 201),
        (#"{"tasks":["document_scan","face_liveness"],"locale":"fr-FR","expiresIn":86400,"mobileOnly":true}"#, 201),
        (#"{"tasks":["document_scan","face_liveness","face_match"],"settings":{"documentScan":{}},"returnUrl":"https://example.com/r"}"#, 201),
        (#"{"tasks":["face_liveness","document_scan"],"expiresIn":3600}"#, 201),
        (#"{"tasks":[]}"#, 400),
        (#"{"tasks":["face_liveness"]}"#, 400),
        (#"{"tasks":["document_scan","face_match"]}"#, 400),
        (#"{"tasks":["document_scan","document_scan"]}"#, 400),
        (#"{"tasks":["document_scan"],"locale":"de-DE"}"#, 400),
        (#"{"tasks":["document_scan"],"expiresIn":3599}"#, 400),
        (#"{"tasks":["document_scan"],"expiresIn":86401}"#, 400),
        (#"{"tasks":["document_scan"],"expiresIn":3600.5}"#, 400),
        (#"{"tasks":["document_scan"],"expiresIn":"3600"}"#, 400),
        (#"{"tasks":["document_scan"],"mobileOnly":"yes"}"#, 400),
        (#"{"tasks":["document_scan"],"returnUrl":5}"#, 400),
        (#"{"locale":"nl-NL"}"#, 400),
        (#"["document_scan"]"#, 400),
        ("not json", 400),
    ])
    func validatesTransactions(body: String, status: Int) async throws {
        try await withSandbox { client, sandbox in
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: Self.bearer(), body: ByteBuffer(string: body)) { response in
                #expect(response.status.code == status)
                if status == 400 {
                    let error = try json(response)
                    #expect(error["status"] as? Int == 400)
                    #expect(error["name"] as? String == "Bad Request")
                    #expect((error["message"] as? String)?.isEmpty == false)
                }
            }
            #expect(sandbox.idscanTransactionCount == (status == 201 ? 1 : 0))
        }
    }

    @Test func createsATransactionAndLogsItUnderItsIdempotencyKey() async throws {
        let now = Date().timeIntervalSince1970.rounded(.down)
        // The sandbox's clock stands still, so the expiry date is exact whatever the machine's load.
        try await withSandbox(now: now) { client, sandbox in
            var headers = Self.bearer(Self.jwt(issuedAt: Int(now)))
            headers[HTTPField.Name("Idempotency-Key")!] = "row-7"
            let body = ByteBuffer(string: #"{"tasks":["document_scan","face_liveness"],"locale":"nl-NL","expiresIn":7200}"#)
            let object = try await client.execute(uri: "\(base)/transactions", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .created)
                #expect(response.headers[.contentType] == "application/json")
                return try json(response)
            }
            let id = try #require(object["id"] as? String)
            #expect(UUID(uuidString: id) != nil && id == id.lowercased())
            #expect(object["state"] as? String == "pending")
            #expect(object["url"] as? String == "https://idscan.sandbox/transactions/\(id)")
            #expect(object["tasks"] as? [String] == ["document_scan", "face_liveness"])
            #expect(object["locale"] as? String == "nl-NL")
            let expires = try #require(object["expires"] as? String)
            #expect(expires.hasSuffix("+00:00"))
            let date = try #require(try? Date(expires, strategy: .iso8601))
            #expect(date.timeIntervalSince1970 == now + 7_200)
            #expect(sandbox.idscanTransaction(id: id)?.idempotencyKey == "row-7")
            #expect(sandbox.idscanTransaction(id: id)?.expiresIn == 7_200)

            // Without a key the create has no subject; with the same key again it counts twice (not idempotent).
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: Self.bearer(Self.jwt(issuedAt: Int(now))), body: Self.createBody) { #expect($0.status == .created) }
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: headers, body: Self.createBody) { #expect($0.status == .created) }
            let stats = sandbox.log.snapshot
            #expect(stats.served == ["row-7": 2])
            #expect(stats.byEndpoint["POST /transactions"] == 3)
            #expect(sandbox.idscanTransactionCount == 3)
        }
    }

    // MARK: Results and files

    @Test func answersResultsWithMRZAndVisualValuesAndAbsoluteFileURLs() async throws {
        try await withSandbox { client, sandbox in
            let (tid, rid) = ("0b7c8e4a-6a1e-4f0e-9d1c-2f3e4a5b6c7d", "result-1")
            let object = try await client.execute(uri: "\(base)/transactions/\(tid)/results/\(rid)", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .ok)
                return try json(response)
            }
            #expect(object["id"] as? String == rid)
            #expect(object["state"] as? String == "completed")
            let tasks = try #require(object["tasks"] as? [[String: Any]])
            #expect(tasks.count == 1)
            #expect(tasks[0]["type"] as? String == "document_scan")
            #expect(tasks[0]["state"] as? String == "completed")
            let result = try #require(tasks[0]["result"] as? [[String: Any]])
            let expected = IDScanOracle.fields(transactionID: tid, resultID: rid)
            #expect(result.count == expected.count)
            for (field, oracle) in zip(result, expected) {
                #expect(field["field"] as? String == oracle.name)
                #expect(field["validity"] as? String == "valid")
                let values = try #require(field["values"] as? [[String: String]])
                var expectedValues = [["source": "visual", "value": oracle.visual]]
                if let mrz = oracle.mrz { expectedValues.insert(["source": "mrz", "value": mrz], at: 0) }
                #expect(values == expectedValues)
            }
            let files = try #require(tasks[0]["files"] as? [[String: String]])
            #expect(files.map { $0["type"] } == ["front", "back"])
            #expect(files.allSatisfy { $0["category"] == "document" })
            for (file, side) in zip(files, IDScanOracle.DocumentSide.allCases) {
                let url = try #require(file["url"].flatMap(URL.init(string:)))
                #expect(url.scheme == "http" && url.host != nil)
                #expect(url.path == "\(base)/files/\(tid)/\(rid)/\(side.rawValue)")
                try await client.execute(uri: url.path, method: .get, headers: Self.bearer()) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "image/jpeg")
                    let bytes = Array(response.body.readableBytesView)
                    #expect(bytes == IDScanOracle.documentImage(transactionID: tid, resultID: rid, side: side))
                    #expect(bytes.prefix(4) == [0xFF, 0xD8, 0xFF, 0xE0] && bytes.suffix(2) == [0xFF, 0xD9])
                    #expect((200...1_000).contains(bytes.count))
                }
            }
            try await client.execute(uri: "\(base)/files/\(tid)/\(rid)/selfie", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .notFound)
                let body = try json(response)
                #expect(body["name"] as? String == "Not Found")
            }
            let served = sandbox.log.snapshot.served
            #expect(served["\(tid)/\(rid)"] == 1)
            #expect(served["\(tid)/\(rid)/front"] == 1 && served["\(tid)/\(rid)/back"] == 1)
        }
    }

    @Test(arguments: ["..", "a%2Fb", "-x", ".hidden", "a b", "a%20b", String(repeating: "a", count: 101)])
    func refusesInvalidIDsWith400(id: String) async throws {
        let encoded = id.replacingOccurrences(of: " ", with: "%20")
        try await withSandbox { client, sandbox in
            for uri in [
                "\(base)/transactions/\(encoded)/results/r1", "\(base)/transactions/t1/results/\(encoded)",
                "\(base)/transactions/\(encoded)/results/r1/report", "\(base)/transactions/t1/results/\(encoded)/report?type=extended",
                "\(base)/files/\(encoded)/r1/front", "\(base)/files/t1/\(encoded)/back",
            ] {
                try await client.execute(uri: uri, method: .get, headers: Self.bearer()) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    let body = try json(response)
                    #expect(body["name"] as? String == "Bad Request")
                }
            }
            #expect(sandbox.log.snapshot.served.isEmpty)
        }
    }

    // MARK: Reports

    @Test(arguments: [4_096, 10_000, 0])
    func servesTheSimpleReportAsACompletePDFOfTheConfiguredSize(bytes: Int) async throws {
        try await withSandbox({ $0.reportBytes = bytes }) { client, sandbox in
            for uri in ["\(base)/transactions/t-1/results/r-1/report", "\(base)/transactions/t-1/results/r-1/report?type=simple"] {
                try await client.execute(uri: uri, method: .get, headers: Self.bearer()) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "application/pdf")
                    let pdf = Array(response.body.readableBytesView)
                    try IDScanOracleTests.expectCompletePDF(pdf)
                    if bytes > 0 { #expect(pdf.count == bytes) } else { #expect(pdf.count < 1_000) }
                    #expect(String(decoding: pdf, as: UTF8.self).contains("(ID Scan audit report \\(simple\\)) Tj"))
                    #expect(pdf == IDScanOracle.report(transactionID: "t-1", resultID: "r-1", type: .simple, totalBytes: bytes))
                }
            }
            #expect(sandbox.log.snapshot.served == ["t-1/r-1/simple": 2])
        }
    }

    @Test func servesTheExtendedReportOnlyBeforeTheTransactionExpires() async throws {
        let ids = (0..<200).map { "tx-\($0)" }
        let expired = try #require(ids.first(where: IDScanOracle.isExtendedReportExpired(transactionID:)))
        let live = try #require(ids.first(where: { !IDScanOracle.isExtendedReportExpired(transactionID: $0) }))
        try await withSandbox { client, sandbox in
            try await client.execute(uri: "\(base)/transactions/\(expired)/results/r1/report?type=extended", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .gone)
                let body = try json(response)
                #expect(body["status"] as? Int == 410 && body["name"] as? String == "Gone")
                #expect(body["message"] as? String == "The extended report is no longer available: the transaction has expired")
            }
            try await client.execute(uri: "\(base)/transactions/\(expired)/results/r1/report", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "\(base)/transactions/\(live)/results/r1/report?type=extended", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/pdf")
                let pdf = Array(response.body.readableBytesView)
                try IDScanOracleTests.expectCompletePDF(pdf)
                #expect(String(decoding: pdf, as: UTF8.self).contains("(ID Scan audit report \\(extended\\)) Tj"))
                #expect(String(decoding: pdf, as: UTF8.self).contains("(Transaction: \(live)) Tj"))
            }
            try await client.execute(uri: "\(base)/transactions/\(live)/results/r1/report?type=full", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .badRequest)
            }
            let served = sandbox.log.snapshot.served
            #expect(served["\(expired)/r1/extended"] == 1 && served["\(live)/r1/extended"] == 1)
        }
    }

    @Test func damagesReportsWhenConfigured() async throws {
        try await withSandbox({ $0.reportDamage = .truncated }) { client, _ in
            try await client.execute(uri: "\(base)/transactions/t-1/results/r-1/report", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/pdf")
                let pdf = Array(response.body.readableBytesView)
                #expect(pdf.starts(with: Array("%PDF-1.4".utf8)))
                #expect(pdf.count == 2_048)
                #expect(!String(decoding: pdf, as: UTF8.self).contains("%%EOF"))
            }
        }
        try await withSandbox({ $0.reportDamage = .html }) { client, _ in
            try await client.execute(uri: "\(base)/transactions/t-1/results/r-1/report?type=simple", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html")
                #expect(String(buffer: response.body) == "<html>error</html>")
            }
        }
    }

    // MARK: The gateway's pipeline

    @Test func appliesTheQuotaToIDScanRoutesPerKeyID() async throws {
        try await withSandbox({ $0.quota = .init(limit: 2, interval: 1, unit: .hour); $0.sendsRetryAfter = true }) { client, sandbox in
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: Self.bearer(), body: Self.createBody) { response in
                #expect(response.status == .created)
                #expect(response.headers[HTTPField.Name("quota-limit")!] == "2")
                #expect(response.headers[HTTPField.Name("quota-used")!] == "1")
            }
            try await client.execute(uri: "\(base)/transactions/t1/results/r1/report", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("quota-used")!] == "2")
            }
            try await client.execute(uri: "\(base)/transactions/t1/results/r1", method: .get, headers: Self.bearer()) { response in
                #expect(response.status == .tooManyRequests)
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 3_500)
            }
            #expect(sandbox.log.snapshot.count(.rateLimited) == 1)
            #expect(sandbox.log.snapshot.count(.ok) == 2)
        }
    }

    @Test func injectsFaultsIntoIDScanRoutes() async throws {
        try await withSandbox({ $0.faultRate = 1 }) { client, sandbox in
            try await client.execute(uri: "\(base)/transactions", method: .post, headers: Self.bearer(), body: Self.createBody) { response in
                #expect([500, 502, 503].contains(response.status.code))
            }
            #expect(sandbox.log.snapshot.count(.fault) == 1)
            #expect(sandbox.idscanTransactionCount == 0)
        }
    }
}
