import Crypto
import Foundation

/// A small, valid PDF 1.4 audit report: one A4 page stating the report type and the IDs in Helvetica, with correct
/// xref offsets, padded to a set size with comment lines inside the page's content stream.
enum AuditReportPDF {
    /// The report for (`transactionID`, `resultID`, `type`), `totalBytes` long unless the bare PDF is longer.
    static func make(transactionID: String, resultID: String, type: IDScanOracle.ReportType, totalBytes: Int) -> [UInt8] {
        let seed = "\(transactionID)/\(resultID)/\(type.rawValue)"
        var paddingCount = 0
        var pdf = build(transactionID: transactionID, resultID: resultID, type: type, padding: [])
        // The /Length and startxref digits grow with the padding, so settle in a few rounds.
        for _ in 0..<4 where pdf.count != totalBytes {
            paddingCount = max(0, paddingCount + totalBytes - pdf.count)
            pdf = build(transactionID: transactionID, resultID: resultID, type: type, padding: padding(seed: seed, count: paddingCount))
            if paddingCount == 0 { break }
        }
        return pdf
    }

    private static func build(transactionID: String, resultID: String, type: IDScanOracle.ReportType, padding: [UInt8]) -> [UInt8] {
        var lines = ["ID Scan audit report (\(type.rawValue))", "Transaction: \(transactionID)", "Result: \(resultID)"]
        lines.append(type == .extended ? "Sealed by the batch-runner sandbox (not a real seal)." : "Not sealed; contains no documents.")
        var content = "BT\n/F1 18 Tf\n72 770 Td\n(\(escaped(lines[0]))) Tj\n/F1 11 Tf\n"
        for line in lines.dropFirst() { content += "0 -24 Td\n(\(escaped(line))) Tj\n" }
        content += "ET\n"
        let stream = Array(content.utf8) + padding

        let objects: [[UInt8]] = [
            Array("<< /Type /Catalog /Pages 2 0 R >>".utf8),
            Array("<< /Type /Pages /Kids [3 0 R] /Count 1 >>".utf8),
            Array("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".utf8),
            Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".utf8),
            Array("<< /Length \(stream.count) >>\nstream\n".utf8) + stream + Array("\nendstream".utf8),
        ]
        var pdf = Array("%PDF-1.4\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A]
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(pdf.count)
            pdf += Array("\(index + 1) 0 obj\n".utf8) + object + Array("\nendobj\n".utf8)
        }
        let xref = pdf.count
        var table = "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets {
            let digits = String(offset)
            table += String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n"
        }
        table += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return pdf + Array(table.utf8)
    }

    /// Exactly `count` bytes of comment lines (`% <hex>`) and newlines, drawn from `seed`.
    private static func padding(seed: String, count: Int) -> [UInt8] {
        var hex: [UInt8] = []
        var block = IDScanOracle.digest(seed)
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        while bytes.count < count {
            let remaining = count - bytes.count
            guard remaining >= 3 else {
                bytes += Array(repeating: 0x0A, count: remaining)
                break
            }
            let length = min(remaining, 80) - 3  // "% " and "\n"
            while hex.count < length {
                hex += block.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }
                block = Array(SHA256.hash(data: block))
            }
            bytes += Array("% ".utf8) + hex.prefix(length) + [0x0A]
            hex.removeFirst(length)
        }
        return bytes
    }

    /// A PDF literal string's special characters escaped.
    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "(", with: "\\(").replacingOccurrences(of: ")", with: "\\)")
    }
}
