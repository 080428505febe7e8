import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import Synchronization

extension Sandbox {
    /// Number Verify: `POST /insights/{msisdn}`, `GET /polling` (seed form, `polling_uri` header) and
    /// `GET /polling/{id}` (public spec form).
    func addNumberVerifyRoutes(to router: Router<SandboxContext>) {
        let base = "/communication/kpn/numberverify"
        router.post("\(base)/insights/:msisdn") { request, context in
            let msisdn = context.parameters.get("msisdn") ?? ""
            return try await self.gateway(request, context: context, endpoint: "POST /insights", subject: msisdn) { grant in
                guard msisdn.utf8.count >= 8, msisdn.utf8.count <= 15, msisdn.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    return (.badRequest, ByteBuffer(string: #"{"error_code": 400, "message": "Invalid msisdn"}"#), "application/json")
                }
                if self.configuration.bareNotFoundNumbers.contains(msisdn) {
                    return (.notFound, ByteBuffer(string: "<html><body><h1>404 Not Found</h1></body></html>"), "text/html")
                }
                guard let insight = SandboxNumbers.insight(for: msisdn) else {
                    let message = self.configuration.sendsFormulaText ? "@SUM(1+1)*cmd|' /C calc'!A0" : "Not Found"
                    return (.notFound, try self.json(["error_code": 404, "message": message]), "application/json")
                }
                let operatorName =
                    self.configuration.sendsFormulaText ? #"=HYPERLINK("http://x.example","\#(insight.operatorName)")"# : insight.operatorName
                var body: [String: Any] = [
                    "operator_lookup": [
                        "regionCode": insight.regionCode, "operatorName": operatorName,
                        "mcc": insight.mcc as Any? ?? NSNull(), "mnc": insight.mnc as Any? ?? NSNull(),
                    ]
                ]
                if grant.scopes.contains("device_match") {
                    let id = self.pollingSessions.open(msisdn: msisdn)
                    body["device_match"] =
                        self.configuration.sendsBareDeviceMatchIDs
                        ? ["session_id": id, "polling_id": id]
                        : ["session_uri": "https://server/v1/dm/session/\(id)", "polling_uri": "https://server/v1/dm/polling/\(id)"]
                }
                return (.ok, try self.json(body), "application/json")
            }
        }
        router.get("\(base)/polling") { request, context in
            let uri = request.headers[HTTPField.Name("polling_uri")!] ?? ""
            let id = String(uri.split(separator: "/").last ?? "")
            return try await self.poll(request, context: context, id: id)
        }
        router.get("\(base)/polling/:id") { request, context in
            try await self.poll(request, context: context, id: context.parameters.get("id") ?? "")
        }
    }

    private func poll(_ request: Request, context: SandboxContext, id: String) async throws -> Response {
        let msisdn = pollingSessions.msisdn(for: id)
        return try await gateway(request, context: context, endpoint: "GET /polling", subject: msisdn) { grant in
            guard grant.scopes.contains("device_match") else {
                return (.forbidden, ByteBuffer(string: #"{"error_code": 403, "message": "Forbidden"}"#), "application/json")
            }
            guard let msisdn else {
                return (.notFound, ByteBuffer(string: #"{"error_code": 404, "message": "Not Found"}"#), "application/json")
            }
            var errors: [[String: Any]] = []
            if let match = SandboxNumbers.deviceMatch(for: msisdn) { errors.append(["device_match": match]) }
            let body: [String: Any] = [
                "msisdn": msisdn, "device_match": NSNull(), "remote_addr": "192.0.2.1", "user_agent": "sandbox",
                "errors": errors,
            ]
            return (.ok, try self.json(body), "application/json")
        }
    }
}

/// Device-match sessions: 32-hex ids mapped back to their numbers.
final class PollingSessions: Sendable {
    private let sessions = Mutex<[String: String]>([:])

    func open(msisdn: String) -> String {
        let digest = SHA256.hash(data: Data(msisdn.utf8))
        let id = digest.prefix(16).map { String(format: "%02x", $0) }.joined()
        sessions.withLock { $0[id] = msisdn }
        return id
    }

    func msisdn(for id: String) -> String? { sessions.withLock { $0[id] } }
}
