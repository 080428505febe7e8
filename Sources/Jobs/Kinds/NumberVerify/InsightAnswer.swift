/// The answer to `POST /insights/{msisdn}`. The seed's `session_uri`/`polling_uri` and the public spec's bare
/// `session_id`/`polling_id` are both accepted; `mcc` and `mnc` may be null, numbers or text. Any other type, in
/// any field read, makes the answer not the documented one: the row fails naming the field.
struct InsightAnswer {
    enum Polling: Equatable {
        case uri(String)
        case id(String)
    }

    /// Why an answer cannot be read.
    enum Problem: Error, Equatable {
        /// Not JSON, or not an object with an `operator_lookup` object.
        case notTheDocumentedJSON
        case wrongType(AnswerShapeError)
    }

    var operatorName = ""
    var regionCode = ""
    var mcc = ""
    var mnc = ""
    var polling: Polling?

    init(body: [UInt8]) throws(Problem) {
        // JSONValue rather than JSONDecoder: this runs once per row (BENCHMARKS.md, throughput).
        guard let answer = JSONValue(parsing: body), case .object? = answer["operator_lookup"], let lookup = answer["operator_lookup"] else {
            throw .notTheDocumentedJSON
        }
        do {
            let path = "operator_lookup"
            operatorName = try lookup.text("operatorName", in: path) ?? ""
            regionCode = try lookup.text("regionCode", in: path) ?? ""
            mcc = try lookup.text("mcc", [.string, .number], in: path) ?? ""
            mnc = try lookup.text("mnc", [.string, .number], in: path) ?? ""
            if let match = try answer.member("device_match", .object) {
                if let uri = try match.text("polling_uri", in: "device_match"), !uri.isEmpty {
                    polling = .uri(uri)
                } else if let id = try match.text("polling_id", in: "device_match"), id.allSatisfy({ $0.isHexDigit }), !id.isEmpty {
                    polling = .id(id)
                }
            }
        } catch {
            throw .wrongType(error)
        }
    }
}

/// The answer to `GET /polling`: the top-level `device_match` when set (text, or true/false), else
/// `errors[0].device_match`.
enum PollingAnswer {
    /// The device match; nil while it is not known yet.
    ///
    /// - Throws: ``InsightAnswer/Problem`` when the answer is not the documented JSON.
    static func deviceMatch(in body: [UInt8]) throws(InsightAnswer.Problem) -> String? {
        guard let answer = JSONValue(parsing: body), case .object = answer else { throw .notTheDocumentedJSON }
        do {
            switch try answer.member("device_match", [.string, .bool]) {
            case .string(let match)? where !match.isEmpty: return match.uppercased()
            case .bool(let match)?: return match ? "AVAILABLE" : "UNAVAILABLE"
            default: break
            }
            guard let first = try answer.member("errors", .array)?.elements.first else { return nil }
            guard let match = try first.checked(.object, at: "errors[0]")?.text("device_match", in: "errors[0]"), !match.isEmpty else {
                return nil
            }
            return match.uppercased()
        } catch {
            throw .wrongType(error)
        }
    }
}
