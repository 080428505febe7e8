import FuzzSupport

/// Fuzzes `MSISDN.normalise(_:)` (Sources/Jobs/NumberVerify/MSISDN.swift, symlinked into this target).
///
/// The input is the manifest cell as UTF-8 (production gets a validated `String` from CellDecoder; invalid bytes
/// are repaired to U+FFFD here). Besides never crashing, it checks:
/// - an answer is 8 to 15 ASCII digits without a leading zero; a Dutch one (`31...`) is `316`, then 1-5 or 8,
///   then seven digits (11 in all);
/// - the String and Substring entry points agree;
/// - idempotence: normalising the answer again gives the answer;
/// - the international spellings of an answer (`+`, `00`, grouped with spaces or dashes) give the answer again,
///   and for a Dutch answer so do `06...` and `+31 (0)6...`;
/// - a rejection's description says what to do (has `; `), and a length it reports is the digits it counted.
@main
struct MSISDNFuzz {
    static func main() {
        runFuzzer { input in
            let text = String(decoding: input, as: UTF8.self)
            fuzz(text)
        }
    }

    /// A known non-idempotent class, reported (Fuzz/README.md, "Findings"): a 9-digit international answer that
    /// starts with 6 (New Caledonia `+687 79 12 34` gives `687791234`) reads as a Dutch mobile without its zero
    /// when normalised again. Set `MSISDN_FUZZ_STRICT=1` to trap on it too.
    static let strict = getenvFlag("MSISDN_FUZZ_STRICT")

    static func fuzz(_ text: String) {
        let result = MSISDN.normalise(text)
        let viaSubstring = MSISDN.normalise(text[...])
        check(result == viaSubstring, "String and Substring disagree for \(debug(text)): \(result) vs \(viaSubstring)")

        switch result {
        case .failure(let problem):
            check(problem.description.contains("; "), "problem without advice: \(problem)")
            if case .wrongLength(let digits) = problem {
                // 11 digits is a valid length both for a Dutch mobile and for other countries.
                check(digits >= 0 && digits != 11 && digits <= digitCount(text) + 2, "wrongLength(\(digits)) for \(debug(text))")
            }
        case .success(let number):
            checkShape(number, input: text)
            let isKnownAmbiguity = number.utf8.count == 9 && number.utf8.first == UInt8(ascii: "6")
            if strict || !isKnownAmbiguity {
                let again = MSISDN.normalise(number)
                check(again == .success(number), "not idempotent: \(debug(text)) -> \(number) -> \(again)")
            }
            // The international spellings of the answer.
            for spelling in ["+" + number, "00" + number, "+" + grouped(number, by: " "), "00 " + grouped(number, by: "-")] {
                let again = MSISDN.normalise(spelling)
                check(again == .success(number), "\(debug(text)) -> \(number), but \(debug(spelling)) -> \(again)")
            }
            if number.hasPrefix("31") {
                let national = String(number.dropFirst(2))  // 6xxxxxxxx
                for spelling in ["0" + national, national, "+31 (0)" + national, "0031 (0)" + grouped(national, by: " ")] {
                    let again = MSISDN.normalise(spelling)
                    check(again == .success(number), "\(debug(text)) -> \(number), but \(debug(spelling)) -> \(again)")
                }
            }
        }
    }

    static func checkShape(_ number: String, input: String) {
        let bytes = Array(number.utf8)
        check(bytes.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }, "non-digit in \(number) from \(debug(input))")
        check((8...15).contains(bytes.count), "\(bytes.count) digits in \(number) from \(debug(input))")
        check(bytes.first != UInt8(ascii: "0"), "leading zero in \(number) from \(debug(input))")
        if number.hasPrefix("31") {
            check(bytes.count == 11, "Dutch answer of \(bytes.count) digits: \(number) from \(debug(input))")
            check(bytes[2] == UInt8(ascii: "6"), "Dutch answer not 316...: \(number) from \(debug(input))")
            let third = bytes[3]
            check((UInt8(ascii: "1")...UInt8(ascii: "5")).contains(third) || third == UInt8(ascii: "8"),
                  "Dutch answer not a mobile range: \(number) from \(debug(input))")
        }
        // Every answer digit comes from the input, apart from a `31` the normaliser adds to a national number.
        check(digitCount(input) + 2 >= bytes.count, "answer \(number) longer than the digits of \(debug(input))")
    }

    static func digitCount(_ text: String) -> Int {
        text.utf8.lazy.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
    }

    static func grouped(_ digits: String, by separator: String) -> String {
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && index % 3 == 0 { out += separator }
            out.append(character)
        }
        return out
    }

    static func debug(_ text: String) -> String { String(reflecting: text) }
}
