import Foundation

/// How the runner reads one HTTP answer from a KPN gateway (Apigee) or the ID Scan service.
package enum AnswerClass: Sendable, Equatable {
    /// 2xx.
    case success
    /// 429, or any status with an Apigee `policies.ratelimit.*` fault: wait and send again; not the row's fault.
    case rateLimited
    /// The bearer token expired on its way (`oauth.v2.AccessTokenExpired`): get a new one and send again.
    case tokenExpired
    /// The bearer token is refused (another `oauth.v2.*` fault, or 401): get a new one and send again once.
    case tokenRejected
    /// 500, 502, 503, 504: retry with backoff.
    case transient
    /// Any other status: the row fails with the service's message.
    case rejected
}

package enum GatewayAnswer {
    /// Classifies an answer by status and, for faults, by the Apigee error code in the body.
    package static func classify(status: Int, body: [UInt8]) -> AnswerClass {
        let errorCode = faultErrorCode(body)
        if status == 429 || errorCode?.hasPrefix("policies.ratelimit.") == true { return .rateLimited }
        if (200..<300).contains(status) { return .success }
        if errorCode == "oauth.v2.AccessTokenExpired" { return .tokenExpired }
        if let errorCode, errorCode.hasPrefix("oauth.v2.") || errorCode.hasPrefix("keymanagement.service.") {
            return .tokenRejected
        }
        if status == 401 { return .tokenRejected }
        if [500, 502, 503, 504].contains(status) { return .transient }
        return .rejected
    }

    /// `fault.detail.errorcode` of an Apigee fault body, if the body is one.
    static func faultErrorCode(_ body: [UInt8]) -> String? {
        guard body.first == UInt8(ascii: "{"), body.count < 64 << 10, containsFaultKey(body),
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let fault = object["fault"] as? [String: Any], let detail = fault["detail"] as? [String: Any]
        else { return nil }
        return detail["errorcode"] as? String
    }

    /// Whether `"fault"` occurs in the body: a cheap test that spares parsing every successful answer twice.
    private static func containsFaultKey(_ body: [UInt8]) -> Bool {
        let key = Array("\"fault\"".utf8)
        guard body.count >= key.count else { return false }
        for start in 0...(body.count - key.count) where body[start] == key[0] {
            if body[start..<start + key.count].elementsEqual(key) { return true }
        }
        return false
    }

    /// A short, safe description of an error answer: its status and the service's own message, without echoing
    /// anything that could hold personal data (the message is cut to 200 characters).
    package static func describe(status: Int, body: [UInt8]) -> String {
        var message: String?
        if let object = try? JSONSerialization.jsonObject(with: Data(body.prefix(64 << 10))) as? [String: Any] {
            let inner = (object["error"] as? [String: Any]) ?? object
            message = (inner["message"] as? String) ?? (inner["Error"] as? String)
                ?? ((inner["fault"] as? [String: Any])?["faultstring"] as? String)
        }
        // A service that echoes the request would show the secret it was sent: scrubbed before it is cut, so no
        // part of one survives the cut.
        let reason = message.map { ": " + String(SecretScrubber.shared.scrub($0).prefix(200)) } ?? ""
        return "HTTP \(status)\(reason)"
    }
}
