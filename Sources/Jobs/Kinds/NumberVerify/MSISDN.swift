/// Normalises phone numbers to the digits Number Verify takes: country code and number, no `+` (`31612345678`).
///
/// Accepted input: Dutch mobiles as `06...`, `+316...`, `00316...`, `316...`, and `6...` (a spreadsheet that
/// dropped the leading zero); `+31 (0)6 ...` with the trunk zero in parentheses; other countries' numbers in
/// E.164 with `+` or `00` (8 to 15 digits with the country code). Spaces, dashes, dots, slashes and parentheses
/// are ignored. Dutch numbers must be mobile: `316` followed by 1-5 or 8 and seven more digits (060, 066 pagers,
/// 067 and 069 are not mobile).
package enum MSISDN {
    /// Why a value is not a usable number, phrased for rejects.csv.
    package enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case invalidCharacters
        case wrongLength(Int)
        case notDutchMobile
        case nationalNonDutch

        package var description: String {
            switch self {
            case .empty:
                "is empty; fill in the phone number or remove the row"
            case .invalidCharacters:
                "contains characters other than digits, spaces, + - . / ( ); correct the number"
            case .wrongLength(let digits):
                "has \(digits) digits; a number with country code has 8 to 15 digits (Dutch mobiles: 06 and 8 digits)"
            case .notDutchMobile:
                "is a Dutch number but not a mobile one (06 followed by 1-5 or 8); Number Verify checks mobile numbers only"
            case .nationalNonDutch:
                "starts with a single 0 but is not a Dutch 06 number; write foreign numbers with + and the country code"
            }
        }
    }

    /// The normalised digits of `input`.
    package static func normalise(_ input: some StringProtocol) -> Result<String, Problem> {
        // Spreadsheets group digits with (narrow) no-break spaces: multi-byte in UTF-8, so made plain spaces first.
        if !input.utf8.allSatisfy({ $0 < 0x80 }), input.unicodeScalars.contains(where: { $0 == "\u{00A0}" || $0 == "\u{202F}" }) {
            let plain = input.unicodeScalars.map { $0 == "\u{00A0}" || $0 == "\u{202F}" ? " " : Character($0) }
            return normalise(String(plain))
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(16)
        var hasPlus = false
        var sawAnything = false
        var previousWasOpenParen = false
        var skipTrunkZero = false
        for byte in input.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if skipTrunkZero && byte == UInt8(ascii: "0") && previousWasOpenParen {
                    skipTrunkZero = false
                    previousWasOpenParen = false
                    continue
                }
                digits.append(byte)
                sawAnything = true
                previousWasOpenParen = false
            case UInt8(ascii: "+"):
                guard !sawAnything, !hasPlus else { return .failure(.invalidCharacters) }
                hasPlus = true
                sawAnything = true
            case UInt8(ascii: "("):
                // `+31 (0)6...`: the trunk zero of an international number is not dialled.
                previousWasOpenParen = true
                skipTrunkZero = hasPlus || Self.starts(digits, with: "0", "0")
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ")"), 0x09:
                previousWasOpenParen = false
            default:
                return .failure(.invalidCharacters)
            }
        }
        guard !digits.isEmpty else { return .failure(sawAnything ? .invalidCharacters : .empty) }

        var international: ArraySlice<UInt8>
        if hasPlus {
            international = digits[...]
        } else if Self.starts(digits, with: "0", "0") {
            international = digits.dropFirst(2)
        } else if digits.first == UInt8(ascii: "0") {
            guard digits.count >= 2, digits[1] == UInt8(ascii: "6") else {
                return digits.count == 10 ? .failure(.notDutchMobile) : .failure(.nationalNonDutch)
            }
            international = ArraySlice(Array("31".utf8) + digits.dropFirst())
        } else if digits.count == 9, digits.first == UInt8(ascii: "6") {
            international = ArraySlice(Array("31".utf8) + digits)
        } else {
            international = digits[...]
        }
        guard international.first != UInt8(ascii: "0") else { return .failure(.invalidCharacters) }
        if Self.starts(international, with: "3", "1") {
            let national = international.dropFirst(2)
            guard national.count == 9 else { return .failure(.wrongLength(international.count)) }
            let third = national[national.startIndex + 1]
            guard national.first == UInt8(ascii: "6"),
                (UInt8(ascii: "1")...UInt8(ascii: "5")).contains(third) || third == UInt8(ascii: "8")
            else { return .failure(.notDutchMobile) }
        } else {
            guard (8...15).contains(international.count) else { return .failure(.wrongLength(international.count)) }
        }
        return .success(String(decoding: international, as: UTF8.self))
    }

    /// Whether `bytes` starts with the two ASCII characters (no array built for the prefix: this runs per row).
    private static func starts(_ bytes: some Collection<UInt8>, with first: Unicode.Scalar, _ second: Unicode.Scalar) -> Bool {
        var iterator = bytes.makeIterator()
        return iterator.next() == UInt8(ascii: first) && iterator.next() == UInt8(ascii: second)
    }
}
