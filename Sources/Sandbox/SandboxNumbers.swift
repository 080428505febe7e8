/// The sandbox's Number Verify answers, deterministic from the number, so tests can predict every result.
///
/// - Numbers ending in `404` are unknown (404).
/// - Dutch numbers (`31...`): operator by the sum of the digits: KPN, Vodafone, T-Mobile, Lebara; `mcc` 204 with
///   the operator's `mnc`, except KPN, which answers null for both (as the seed's example does).
/// - Other countries: by country code (32 BE Proximus, 44 GB EE, 49 DE Telekom), else region `ZZ`, operator `Unknown`.
/// - Device match: last digit 0-3 `AVAILABLE`, 4-6 `UNAVAILABLE`, 7-9 never decided (the runner records `pending`).
public enum SandboxNumbers {
    public struct Insight: Sendable, Equatable {
        public var operatorName: String
        public var regionCode: String
        public var mcc: String?
        public var mnc: String?
    }

    /// The insight for `msisdn` (digits with country code), or nil for 404.
    public static func insight(for msisdn: String) -> Insight? {
        if msisdn.hasSuffix("404") { return nil }
        if msisdn.hasPrefix("31") {
            let sum = msisdn.utf8.reduce(0) { $0 + Int($1 &- UInt8(ascii: "0")) }
            let operators: [(String, String?)] = [("KPN", nil), ("Vodafone", "04"), ("T-Mobile", "16"), ("Lebara", "69")]
            let (name, mnc) = operators[sum % operators.count]
            return Insight(operatorName: name, regionCode: "NL", mcc: mnc == nil ? nil : "204", mnc: mnc)
        }
        let countries: [(String, String, String)] = [("32", "BE", "Proximus"), ("44", "GB", "EE"), ("49", "DE", "Telekom")]
        for (prefix, region, name) in countries where msisdn.hasPrefix(prefix) {
            return Insight(operatorName: name, regionCode: region, mcc: nil, mnc: nil)
        }
        return Insight(operatorName: "Unknown", regionCode: "ZZ", mcc: nil, mnc: nil)
    }

    /// The device match a poll eventually reports, or nil when it stays undecided.
    public static func deviceMatch(for msisdn: String) -> String? {
        switch msisdn.last {
        case "0", "1", "2", "3": "AVAILABLE"
        case "4", "5", "6": "UNAVAILABLE"
        default: nil
        }
    }
}
