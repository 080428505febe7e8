/// Formats CSV lines (RFC 4180): fields are quoted when they hold a comma, a quote, a line end or edge spaces;
/// quotes inside are doubled. Lines end with LF.
package enum CSVLine {
    package static func append(_ fields: [String], to file: inout AtomicFile) {
        file.append(bytes(fields))
    }

    package static func format(_ fields: [String]) -> String {
        String(decoding: bytes(fields).dropLast(), as: UTF8.self)  // without the line end
    }

    /// One line, LF included.
    private static func bytes(_ fields: [String]) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(128)
        for (index, field) in fields.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            appendField(field, to: &line)
        }
        line.append(0x0A)
        return line
    }

    private static func appendField(_ field: String, to line: inout [UInt8]) {
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
