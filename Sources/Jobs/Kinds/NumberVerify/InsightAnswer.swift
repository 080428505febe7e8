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
        // JSONDecoder (native Swift) rather than JSONSerialization (Foundation objects): this runs once per row
        // and was the runner's largest own cost per request (BENCHMARKS.md, throughput).
        guard let answer = try? JSONDecoder().decode(Body.self, from: Data(body)) else { return nil }
        operatorName = answer.operatorLookup.operatorName?.text ?? ""
        regionCode = answer.operatorLookup.regionCode?.text ?? ""
        mcc = answer.operatorLookup.mcc?.text ?? ""
        mnc = answer.operatorLookup.mnc?.text ?? ""
        if let match = answer.deviceMatch?.value {
            if let uri = match.pollingURI?.value, !uri.isEmpty {
                polling = .uri(uri)
            } else if let id = match.pollingID?.value, id.allSatisfy({ $0.isHexDigit }), !id.isEmpty {
                polling = .id(id)
            }
        }
    }

    private struct Body: Decodable {
        var operatorLookup: Lookup
        var deviceMatch: Lenient<Match>?

        enum CodingKeys: String, CodingKey {
            case operatorLookup = "operator_lookup"
            case deviceMatch = "device_match"
        }
    }

    private struct Lookup: Decodable {
        var operatorName: Text?
        var regionCode: Text?
        var mcc: Text?
        var mnc: Text?
    }

    private struct Match: Decodable {
        var pollingURI: Lenient<String>?
        var pollingID: Lenient<String>?

        enum CodingKeys: String, CodingKey {
            case pollingURI = "polling_uri"
            case pollingID = "polling_id"
        }
    }

    /// A field read as text whatever its JSON type: strings as they are, numbers in their decimal form, anything
    /// else (null, booleans, objects) as empty.
    private struct Text: Decodable {
        var text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                text = string
            } else if let integer = try? container.decode(Int64.self) {
                text = String(integer)
            } else if let number = try? container.decode(Double.self) {
                text = String(number)
            } else {
                text = ""
            }
        }
    }

    /// A value that is nil when it has another type than expected, instead of failing the whole answer.
    private struct Lenient<Value: Decodable>: Decodable {
        var value: Value?

        init(from decoder: any Decoder) throws {
            value = try? Value(from: decoder)
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
