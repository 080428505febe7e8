import Foundation

/// The answer to `POST /insights/{msisdn}`, read tolerantly: the seed's `session_uri`/`polling_uri` and the
/// public spec's bare `session_id`/`polling_id` are both accepted; `mcc` and `mnc` may be null, numbers or text.
struct InsightAnswer {
    enum Polling: Equatable {
        case uri(String)
        case id(String)
    }

    var operatorName = ""
    var regionCode = ""
    var mcc = ""
    var mnc = ""
    var polling: Polling?

    init?(body: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        guard let lookup = object["operator_lookup"] as? [String: Any] else { return nil }
        operatorName = Self.text(lookup["operatorName"])
        regionCode = Self.text(lookup["regionCode"])
        mcc = Self.text(lookup["mcc"])
        mnc = Self.text(lookup["mnc"])
        if let match = object["device_match"] as? [String: Any] {
            if let uri = match["polling_uri"] as? String, !uri.isEmpty {
                polling = .uri(uri)
            } else if let id = match["polling_id"] as? String, id.allSatisfy({ $0.isHexDigit }), !id.isEmpty {
                polling = .id(id)
            }
        }
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: ""
        }
    }
}

/// The answer to `GET /polling`: the top-level `device_match` when set, else `errors[0].device_match`.
enum PollingAnswer {
    static func deviceMatch(in body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        if let match = object["device_match"] as? String, !match.isEmpty { return match.uppercased() }
        if let match = object["device_match"] as? Bool { return match ? "AVAILABLE" : "UNAVAILABLE" }
        if let errors = object["errors"] as? [[String: Any]], let match = errors.first?["device_match"] as? String,
            !match.isEmpty
        {
            return match.uppercased()
        }
        return nil
    }
}
