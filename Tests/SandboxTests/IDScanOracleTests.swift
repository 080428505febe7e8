import Foundation
import Sandbox
import Testing

/// ``IDScanOracle`` on its own: deterministic fields, the ID alphabet, the expiry share and the audit report PDF.
@Suite struct IDScanOracleTests {
    @Test func theOracleIsDeterministicAndTellsTheSourcesApart() throws {
        let fields = IDScanOracle.fields(transactionID: "t-1", resultID: "r-1")
        #expect(fields == IDScanOracle.fields(transactionID: "t-1", resultID: "r-1"))
        #expect(fields != IDScanOracle.fields(transactionID: "t-1", resultID: "r-2"))
        #expect(fields.map(\.name) == [
            "document_type", "document_number", "given_names", "surname", "date_of_birth", "place_of_birth", "gender",
            "nationality", "expiry_date",
        ])
        let byName = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })
        let given = try #require(byName["given_names"])
        #expect(given.mrz == given.visual.uppercased() && given.mrz != given.visual)
        #expect(byName["place_of_birth"]?.mrz == nil)
        #expect(fields.filter { $0.mrz == nil }.map(\.name) == ["place_of_birth"])
        let expired = (0..<2_000).filter { IDScanOracle.isExtendedReportExpired(transactionID: "transaction-\($0)") }.count
        #expect((300...500).contains(expired), "\(expired) of 2000 expired")
    }

    @Test func acceptsIDsAtTheEdgesOfTheAlphabet() {
        for valid in ["a", "0", "A.b_c-d", "3b438437-04a4-40bb-8389-54bb02766fba", String(repeating: "z", count: 100)] {
            #expect(IDScanOracle.isValidID(valid), "\(valid)")
        }
        for invalid in ["", "..", "-x", "_x", ".x", "a/b", "a\\b", "a%2Fb", "ä", "a b", String(repeating: "z", count: 101)] {
            #expect(!IDScanOracle.isValidID(invalid), "\(invalid)")
        }
    }

    @Test(arguments: [0, 1_000, 4_096, 4_097, 65_536])
    func reportsAreValidPDFsOfTheRequestedSize(bytes: Int) throws {
        for type in IDScanOracle.ReportType.allCases {
            let pdf = IDScanOracle.report(transactionID: "t-9", resultID: "r-9", type: type, totalBytes: bytes)
            try Self.expectCompletePDF(pdf)
            if bytes >= 1_000 { #expect(pdf.count == bytes) } else { #expect(pdf.count < 1_000) }
            #expect(pdf == IDScanOracle.report(transactionID: "t-9", resultID: "r-9", type: type, totalBytes: bytes))
        }
    }

    /// A PDF that starts with the header, ends with `%%EOF\n`, and whose xref offsets and stream lengths are right.
    static func expectCompletePDF(_ pdf: [UInt8]) throws {
        let text = String(decoding: pdf, as: UTF8.self)
        #expect(pdf.starts(with: Array("%PDF-1.".utf8)))
        #expect(pdf.suffix(6) == Array("%%EOF\n".utf8))
        let tail = text.split(separator: "\n").suffix(3).map(String.init)
        try #require(tail.count == 3 && tail.first == "startxref", "not a PDF's tail: \(tail.prefix(1))")
        let xref = try #require(Int(tail[1]).flatMap { $0 < pdf.count ? $0 : nil })
        #expect(pdf[xref...].starts(with: Array("xref\n".utf8)))
        let table = String(decoding: pdf[xref...], as: UTF8.self).split(separator: "\n")
        try #require(table.count > 1 && table[1].split(separator: " ").count > 1, "no xref table")
        let count = try #require(Int(table[1].split(separator: " ")[1]))
        try #require(table.count >= 2 + count, "the xref table is short")
        #expect(count > 1)
        for object in 1..<count {
            let entry = table[2 + object]
            #expect(entry.utf8.count == 19 && entry.hasSuffix(" 00000 n "), "\(entry)")
            let offset = try #require(Int(entry.prefix(10)))
            #expect(pdf[offset...].starts(with: Array("\(object) 0 obj\n".utf8)), "object \(object) at \(offset)")
        }
        // Every stream's /Length lands on its endstream.
        var searchFrom = pdf.startIndex
        while let range = pdf[searchFrom...].firstRange(of: Array("/Length ".utf8)) {
            let digits = pdf[range.upperBound...].prefix { (0x30...0x39).contains($0) }
            let length = try #require(Int(String(decoding: digits, as: UTF8.self)))
            let start = try #require(pdf[range.upperBound...].firstRange(of: Array("stream\n".utf8))).upperBound
            #expect(pdf[start...].dropFirst(length).starts(with: Array("\nendstream".utf8)))
            searchFrom = start
        }
        #expect(text.contains("/BaseFont /Helvetica"))
    }
}
