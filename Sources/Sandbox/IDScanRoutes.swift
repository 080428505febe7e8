import Foundation
import HTTPTypes
import Hummingbird

extension Sandbox {
    /// ID Scan under `/id-scan/v1`: create a transaction, read a result, download its document images and its
    /// simple or extended audit report. Every call takes an HS256 JWT and goes through the gateway's pipeline; the
    /// answers come from ``IDScanOracle``. Invalid transaction or result IDs answer 400 and are never used.
    func addIDScanRoutes(to router: Router<SandboxContext>) {
        let base = "/id-scan/v1"
        router.post("\(base)/transactions") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 10)
            let subject = request.headers[HTTPField.Name("Idempotency-Key")!]
            return try await self.gateway(request, context: context, endpoint: "POST /transactions", subject: subject, authentication: .idscanJWT) { _ in
                try self.createTransaction(body: body, idempotencyKey: subject)
            }
        }
        router.get("\(base)/transactions/:transactionId/results/:resultId") { request, context in
            let (transactionID, resultID) = (Self.identifier(context, "transactionId"), Self.identifier(context, "resultId"))
            let subject = Self.subject(transactionID, resultID)
            return try await self.gateway(request, context: context, endpoint: "GET /results", subject: subject, authentication: .idscanJWT) { _ in
                guard let transactionID, let resultID else { return Self.idscanError(.badRequest, "Invalid transaction or result ID") }
                let body = Self.result(transactionID: transactionID, resultID: resultID, filesBase: "http://\(Self.authority(of: request))\(base)/files")
                return (.ok, try Self.idscanJSON(body), "application/json")
            }
        }
        router.get("\(base)/files/:transactionId/:resultId/:name") { request, context in
            let (transactionID, resultID) = (Self.identifier(context, "transactionId"), Self.identifier(context, "resultId"))
            let name = context.parameters.get("name") ?? ""
            let subject = Self.subject(transactionID, resultID).map { "\($0)/\(name)" }
            return try await self.gateway(request, context: context, endpoint: "GET /files", subject: subject, authentication: .idscanJWT) { _ in
                guard let transactionID, let resultID else { return Self.idscanError(.badRequest, "Invalid transaction or result ID") }
                guard let side = IDScanOracle.DocumentSide(rawValue: name) else { return Self.idscanError(.notFound, "No such file") }
                let image = IDScanOracle.documentImage(transactionID: transactionID, resultID: resultID, side: side)
                return (.ok, ByteBuffer(bytes: image), "image/jpeg")
            }
        }
        router.get("\(base)/transactions/:transactionId/results/:resultId/report") { request, context in
            let (transactionID, resultID) = (Self.identifier(context, "transactionId"), Self.identifier(context, "resultId"))
            let type = request.uri.queryParameters["type"].map(String.init) ?? IDScanOracle.ReportType.simple.rawValue
            let reportType = IDScanOracle.ReportType(rawValue: type)
            let subject = reportType == nil ? nil : Self.subject(transactionID, resultID).map { "\($0)/\(type)" }
            return try await self.gateway(request, context: context, endpoint: "GET /report", subject: subject, authentication: .idscanJWT) { _ in
                guard let transactionID, let resultID else { return Self.idscanError(.badRequest, "Invalid transaction or result ID") }
                guard let reportType else { return Self.idscanError(.badRequest, "type must be simple or extended") }
                if reportType == .extended, IDScanOracle.isExtendedReportExpired(transactionID: transactionID) {
                    return Self.idscanError(.gone, "The extended report is no longer available: the transaction has expired")
                }
                return self.report(transactionID: transactionID, resultID: resultID, type: reportType)
            }
        }
    }

    // MARK: Answers

    private func createTransaction(body: ByteBuffer, idempotencyKey: String?) throws -> (HTTPResponse.Status, ByteBuffer, String) {
        let create: CreateTransactionRequest
        do {
            create = try JSONDecoder().decode(CreateTransactionRequest.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            return Self.idscanError(.badRequest, CreateTransactionRequest.message(for: error))
        }
        let validTasks = [["document_scan"], ["document_scan", "face_liveness"], ["document_scan", "face_liveness", "face_match"]]
        guard Set(create.tasks).count == create.tasks.count, validTasks.contains(where: { Set($0) == Set(create.tasks) }) else {
            return Self.idscanError(.badRequest, "tasks must be [document_scan], [document_scan, face_liveness] or [document_scan, face_liveness, face_match]")
        }
        let locale = create.locale ?? "en-US"
        guard ["en-US", "nl-NL", "fr-FR"].contains(locale) else { return Self.idscanError(.badRequest, "locale must be en-US, nl-NL or fr-FR") }
        let expiresIn = create.expiresIn ?? 3_600
        guard (3_600...86_400).contains(expiresIn) else { return Self.idscanError(.badRequest, "expiresIn must be from 3600 to 86400 seconds") }

        let id = UUID().uuidString.lowercased()
        let expires = (now + Double(expiresIn)).rounded(.down)
        let transaction = IDScanTransaction(
            id: id, tasks: create.tasks, locale: locale, mobileOnly: create.mobileOnly ?? false, expiresIn: expiresIn,
            expires: expires, idempotencyKey: idempotencyKey
        )
        idscanTransactions.add(transaction)
        let answer: [String: Any] = [
            "id": id, "state": "pending", "url": "https://idscan.sandbox/transactions/\(id)",
            "expires": Self.isoOffsetDate(expires), "tasks": create.tasks, "locale": locale,
            "mobileOnly": transaction.mobileOnly, "expiresIn": expiresIn,
        ]
        return (.created, try Self.idscanJSON(answer), "application/json")
    }

    private static func result(transactionID: String, resultID: String, filesBase: String) -> [String: Any] {
        let fields = IDScanOracle.fields(transactionID: transactionID, resultID: resultID).map { field -> [String: Any] in
            var values: [[String: String]] = []
            if let mrz = field.mrz { values.append(["source": "mrz", "value": mrz]) }
            values.append(["source": "visual", "value": field.visual])
            return ["field": field.name, "validity": "valid", "values": values]
        }
        let files = IDScanOracle.DocumentSide.allCases.map { side in
            ["category": "document", "type": side.rawValue, "url": "\(filesBase)/\(transactionID)/\(resultID)/\(side.rawValue)"]
        }
        let task: [String: Any] = ["type": "document_scan", "state": "completed", "result": fields, "files": files]
        return ["id": resultID, "state": "completed", "tasks": [task]]
    }

    private func report(transactionID: String, resultID: String, type: IDScanOracle.ReportType) -> (HTTPResponse.Status, ByteBuffer, String) {
        switch configuration.reportDamage {
        case .html:
            return (.ok, ByteBuffer(string: "<html>error</html>"), "text/html")
        case .none, .truncated:
            var pdf = IDScanOracle.report(transactionID: transactionID, resultID: resultID, type: type, totalBytes: configuration.reportBytes)
            if configuration.reportDamage == .truncated { pdf = Array(pdf.prefix(pdf.count / 2)) }
            return (.ok, ByteBuffer(bytes: pdf), "application/pdf")
        }
    }

    // MARK: Helpers

    /// ID Scan's error answer: `{"status":400,"name":"Bad Request","message":"..."}`.
    static func idscanError(_ status: HTTPResponse.Status, _ message: String) -> (status: HTTPResponse.Status, body: ByteBuffer, contentType: String) {
        let object: [String: Any] = ["status": status.code, "name": status.reasonPhrase, "message": message]
        let body = (try? idscanJSON(object)) ?? ByteBuffer(string: #"{"status":\#(status.code)}"#)
        return (status, body, "application/json")
    }

    /// JSON as ID Scan writes it: URLs with bare slashes.
    private static func idscanJSON(_ object: Any) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    /// A path parameter, percent-decoded, if it is a valid ID.
    private static func identifier(_ context: SandboxContext, _ name: String) -> String? {
        guard let raw = context.parameters.get(name) else { return nil }
        let decoded = raw.removingPercentEncoding ?? raw
        return IDScanOracle.isValidID(decoded) ? decoded : nil
    }

    private static func subject(_ transactionID: String?, _ resultID: String?) -> String? {
        guard let transactionID, let resultID else { return nil }
        return "\(transactionID)/\(resultID)"
    }

    /// The host (and port) the client called, for absolute file URLs; 127.0.0.1 when absent or odd.
    private static func authority(of request: Request) -> String {
        let authority = request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? ""
        let isPlain = !authority.isEmpty && authority.utf8.allSatisfy { byte in
            byte < 0x80 && (Character(Unicode.Scalar(byte)).isLetter || Character(Unicode.Scalar(byte)).isNumber || ".-:[]".utf8.contains(byte))
        }
        return isPlain ? authority : "127.0.0.1"
    }

    /// `2024-01-01T13:00:00+00:00`, as ID Scan writes `expires`.
    private static func isoOffsetDate(_ epochSeconds: Double) -> String {
        let text = Date(timeIntervalSince1970: epochSeconds).formatted(Date.ISO8601FormatStyle())
        return text.hasSuffix("Z") ? String(text.dropLast()) + "+00:00" : text
    }
}

/// The body of `POST /transactions`; unknown keys (such as `settings`) are ignored.
private struct CreateTransactionRequest: Decodable {
    var tasks: [String]
    var locale: String?
    var mobileOnly: Bool?
    var expiresIn: Int?
    var returnUrl: String?
    var scanReturnUrl: String?

    /// A 400 message naming the field that failed to decode.
    static func message(for error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _):
            return "\(key.stringValue) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            guard let field = context.codingPath.first?.stringValue else { return "The body must be a JSON object" }
            return "Invalid \(field)"
        @unknown default:
            return "Invalid request body"
        }
    }
}
