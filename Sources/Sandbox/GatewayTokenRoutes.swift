import Foundation
import Hummingbird
import HTTPTypes

extension Sandbox {
    /// The KPN gateway's client-credentials token endpoint (all-string answer) and Number Verify's own (integer
    /// `expires_in`). Bad credentials answer 401 `invalid_client`.
    func addGatewayTokenRoutes(to router: Router<SandboxContext>) {
        router.post("/oauth/client_credential/accesstoken") { request, _ in
            let form = try await Self.form(request)
            if self.configuration.echo == .token { return self.echoing(form, endpoint: "POST /oauth/client_credential/accesstoken") }
            guard form["client_id"] == self.configuration.clientID, form["client_secret"] == self.configuration.clientSecret else {
                return self.invalidClient(endpoint: "POST /oauth/client_credential/accesstoken")
            }
            let issued = self.tokens.issue(client: self.configuration.clientID, scopes: [], now: self.now)
            self.log.record(endpoint: "POST /oauth/client_credential/accesstoken", subject: nil, status: 200, outcome: .token)
            let body: [String: Any] = [
                "access_token": issued.token, "token_type": "Bearer", "issued_at": String(Int64(self.now * 1000)),
                "expires_in": String(issued.lifetime), "status": "approved", "client_id": self.configuration.clientID,
                "application_name": "batch-runner sandbox", "scope": "", "refresh_token_expires_in": "0",
                "refresh_count": "0",
            ]
            return self.respond(status: .ok, body: try self.json(body), contentType: "application/json", window: nil)
        }
        router.post("/communication/kpn/numberverify/token") { request, _ in
            let form = try await Self.form(request)
            if self.configuration.echo == .token { return self.echoing(form, endpoint: "POST /numberverify/token") }
            guard form["client_id"] == self.configuration.clientID, form["client_secret"] == self.configuration.clientSecret else {
                return self.invalidClient(endpoint: "POST /numberverify/token")
            }
            let scopes = Set((form["scopes"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let issued = self.tokens.issue(client: self.configuration.clientID, scopes: scopes, now: self.now)
            self.log.record(endpoint: "POST /numberverify/token", subject: nil, status: 200, outcome: .token)
            let body: [String: Any] = ["access_token": issued.token, "token_type": "Bearer", "expires_in": issued.lifetime]
            return self.respond(status: .ok, body: try self.json(body), contentType: "application/json", window: nil)
        }
    }

    /// A 503 quoting the form it was sent (`echo: token`).
    private func echoing(_ form: [String: String], endpoint: String) -> Response {
        log.record(endpoint: endpoint, subject: nil, status: 503, outcome: .fault)
        let sent = form.keys.sorted().map { "\($0)=\(form[$0] ?? "")" }.joined(separator: "&")
        let body = (try? json(["message": "upstream unavailable; your request was: \(sent)"])) ?? ByteBuffer()
        return respond(status: .serviceUnavailable, body: body, contentType: "application/json", window: nil)
    }

    private func invalidClient(endpoint: String) -> Response {
        log.record(endpoint: endpoint, subject: nil, status: 401, outcome: .unauthorized)
        return respond(status: .unauthorized, body: ByteBuffer(string: #"{"ErrorCode":"invalid_client","Error":"ClientId is Invalid"}"#), contentType: "application/json", window: nil)
    }

    /// An `application/x-www-form-urlencoded` body (or query string) as a dictionary.
    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 10)
        var text = String(buffer: buffer)
        if let query = request.uri.query, !query.isEmpty { text += (text.isEmpty ? "" : "&") + query }
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if let key = parts.first { form[key] = parts.count > 1 ? parts[1] : "" }
        }
        return form
    }
}
