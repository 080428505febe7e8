/// What the CSV files do with a text cell a spreadsheet would run as a formula (`csv_formulas`).
public enum CSVFormulas: String, Sendable, CaseIterable {
    /// A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's advice
    /// against CSV injection), unless it is a number (`+31612345678`, `-5`, `2.5`), which no spreadsheet runs.
    case escape
    /// The text as it came, for pipelines that read the files by program.
    case keep
}

/// Formats CSV lines (RFC 4180): fields are quoted when they hold a comma, a quote, a line end or edge spaces;
/// quotes inside are doubled. Lines end with LF.
package enum CSVLine {
    package static func append(_ fields: [String], formulas: CSVFormulas, to file: inout AtomicFile) {
        file.append(bytes(fields, formulas: formulas))
    }

    package static func format(_ fields: [String], formulas: CSVFormulas = .keep) -> String {
        String(decoding: bytes(fields, formulas: formulas).dropLast(), as: UTF8.self)  // without the line end
    }

    /// One line, LF included.
    private static func bytes(_ fields: [String], formulas: CSVFormulas) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(128)
        for (index, field) in fields.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            appendField(field, escapingFormula: formulas == .escape && isFormula(field), to: &line)
        }
        line.append(0x0A)
        return line
    }

    /// Whether a spreadsheet would read `field` as a formula: it begins with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return and is not a plain number.
    static func isFormula(_ field: String) -> Bool {
        let utf8 = field.utf8
        guard let first = utf8.first else { return false }
        switch first {
        case UInt8(ascii: "="), UInt8(ascii: "@"), 0x09, 0x0D: return true
        case UInt8(ascii: "+"), UInt8(ascii: "-"): return !isNumber(utf8.dropFirst())
        default: return false
        }
    }

    /// Digits, with at most one decimal point between digits.
    private static func isNumber(_ utf8: Substring.UTF8View) -> Bool {
        var (digits, point, digitsAfterPoint) = (0, false, 0)
        for byte in utf8 {
            if byte >= 0x30, byte <= 0x39 {
                if point { digitsAfterPoint += 1 } else { digits += 1 }
            } else if byte == UInt8(ascii: "."), !point, digits > 0 {
                point = true
            } else {
                return false
            }
        }
        return digits > 0 && (!point || digitsAfterPoint > 0)
    }

    private static func appendField(_ field: String, escapingFormula: Bool, to line: inout [UInt8]) {
        var field = field
        if escapingFormula { field = "'" + field }
        let utf8 = field.utf8
        let needsQuotes =
            utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
            || utf8.first == 0x20 || utf8.last == 0x20
        guard needsQuotes else {
            line.append(contentsOf: utf8)
            return
        }
        line.append(UInt8(ascii: "\""))
        for byte in utf8 {
            if byte == UInt8(ascii: "\"") { line.append(byte) }
            line.append(byte)
        }
        line.append(UInt8(ascii: "\""))
    }
}
