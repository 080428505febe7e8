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
        // JSONValue rather than JSONDecoder: this runs once per row (BENCHMARKS.md, throughput).
        guard let answer = JSONValue(parsing: body), case .object = answer["operator_lookup"], let lookup = answer["operator_lookup"] else {
            return nil
        }
        // Text whatever its JSON type: strings as they are, numbers as written, anything else empty.
        operatorName = lookup["operatorName"]?.text ?? ""
        regionCode = lookup["regionCode"]?.text ?? ""
        mcc = lookup["mcc"]?.text ?? ""
        mnc = lookup["mnc"]?.text ?? ""
        if let match = answer["device_match"] {
            if let uri = match["polling_uri"]?.string, !uri.isEmpty {
                polling = .uri(uri)
            } else if let id = match["polling_id"]?.string, id.allSatisfy({ $0.isHexDigit }), !id.isEmpty {
                polling = .id(id)
            }
        }
    }
}

/// The answer to `GET /polling`: the top-level `device_match` when set, else `errors[0].device_match`.
enum PollingAnswer {
    static func deviceMatch(in body: [UInt8]) -> String? {
        guard let answer = JSONValue(parsing: body), case .object = answer else { return nil }
        if let match = answer["device_match"]?.string, !match.isEmpty { return match.uppercased() }
        if case .bool(let match)? = answer["device_match"] { return match ? "AVAILABLE" : "UNAVAILABLE" }
        if let match = answer["errors"]?[0]?["device_match"]?.string, !match.isEmpty {
            return match.uppercased()
        }
        return nil
    }
}
