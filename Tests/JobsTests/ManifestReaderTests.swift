import Foundation
import Testing

@testable import Jobs

@Suite struct ManifestReaderTests {
    /// Reads `bytes` as a manifest and answers the header and each row's decoded cells or rejection reason.
    func read(_ bytes: [UInt8], delimiter: UInt8? = nil) throws -> (header: [String], rows: [(Int, RowOutcome)], scan: ManifestReader.Scan) {
        let path = try TemporaryFiles.write(bytes)
        var header: [String] = []
        var rows: [(Int, RowOutcome)] = []
        let scan = try ManifestReader(path: path, delimiter: delimiter).read(
            onHeader: { header = $0 },
            onRow: { row, record in
                switch CellDecoder.decode(record, header: header) {
                case .success(let cells): rows.append((row, .cells(cells.values)))
                case .failure(let problem): rows.append((row, .rejected(problem.reason)))
                }
            }
        )
        return (header, rows, scan)
    }

    func read(_ text: String, delimiter: UInt8? = nil) throws -> (header: [String], rows: [(Int, RowOutcome)], scan: ManifestReader.Scan) {
        try read(Array(text.utf8), delimiter: delimiter)
    }

    @Test(arguments: [
        ("id,msisdn\n1,0612345678\n", UInt8(ascii: ",")),
        ("id;msisdn\n1;0612345678\n", UInt8(ascii: ";")),
        ("id\tmsisdn\n1\t0612345678\n", UInt8(ascii: "\t")),
        ("id|msisdn\n1|0612345678\n", UInt8(ascii: "|")),
    ])
    func detectsTheDelimiterFromTheHeader(text: String, delimiter: UInt8) throws {
        let result = try read(text)
        #expect(result.scan.delimiter == delimiter)
        #expect(result.header == ["id", "msisdn"])
        #expect(try result.rows.first?.1.get() == ["1", "0612345678"])
    }

    @Test func aGivenDelimiterWinsOverDetection() throws {
        let result = try read("name,with,commas;msisdn\nx;0612345678\n", delimiter: UInt8(ascii: ";"))
        #expect(result.header == ["name,with,commas", "msisdn"])
    }

    @Test func stripsTheByteOrderMarkAndReadsCRLF() throws {
        let result = try read([0xEF, 0xBB, 0xBF] + Array("msisdn,key\r\n0612345678,a\r\n0687654321,b\r\n".utf8))
        #expect(result.header == ["msisdn", "key"])
        #expect(result.rows.count == 2)
        #expect(try result.rows[1].1.get() == ["0687654321", "b"])
    }

    @Test func readsMixedLineEndsAndALastLineWithoutNewline() throws {
        let result = try read("msisdn\r\n1\n2\r3\r\n4")
        #expect(result.rows.map { (try? $0.1.get())?.first } == ["1", "2", "3", "4"])
    }

    @Test func readsQuotedFieldsWithDelimitersQuotesAndNewlines() throws {
        let result = try read("key,note\n1,\"a, \"\"quoted\"\"\nnote\"\n")
        #expect(try result.rows.first?.1.get() == ["1", "a, \"quoted\"\nnote"])
    }

    @Test func skipsBlankLinesWithoutNumberingThem() throws {
        let result = try read("\n\nmsisdn\n\n1\n\n\n2\n")
        #expect(result.rows.map { $0.0 } == [1, 2])
        #expect(result.scan.dataRows == 2)
    }

    @Test func aHeaderWithoutRowsIsFine() throws {
        let result = try read("msisdn,key\n")
        #expect(result.rows.isEmpty)
        #expect(result.scan.dataRows == 0)
    }

    @Test func anEmptyFileIsUnusable() throws {
        #expect(throws: ManifestError.self) { try read("") }
        do {
            _ = try read("\n\n")
            Issue.record("expected an error")
        } catch let error as ManifestError {
            #expect(ExitTable.jobError(for: error).code == .manifestUnusable)
            #expect(error.message.contains("empty"))
        }
    }

    @Test func anUnterminatedQuoteNamesTheRowWhereItStarts() throws {
        do {
            _ = try read("msisdn,note\n1,ok\n2,\"never closed\n3,x\n4,y\n")
            Issue.record("expected an error")
        } catch let error as ManifestError {
            #expect(ExitTable.jobError(for: error).code == .manifestUnusable)
            #expect(error.message.contains("data row 2"))
            #expect(error.message.contains("never closed"))
        }
    }

    @Test func rowProblemsRejectOnlyThatRow() throws {
        var bytes = Array("msisdn,note\n".utf8)
        bytes += Array("1,fine\n".utf8)
        bytes += Array("2,nul".utf8) + [0] + Array("byte\n".utf8)
        bytes += Array("3,bad".utf8) + [0xFF, 0xFE] + Array("utf8\n".utf8)
        bytes += Array("4,too,many\n".utf8)
        bytes += Array("5,".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: (1 << 20) + 1) + [0x0A]
        bytes += Array("6\n".utf8)
        let result = try read(bytes)
        #expect(result.rows.count == 6)
        #expect(try result.rows[0].1.get() == ["1", "fine"])
        #expect(result.rows[1].1.failureReason?.contains("NUL") == true)
        #expect(result.rows[2].1.failureReason?.contains("UTF-8") == true)
        #expect(result.rows[3].1.failureReason?.contains("3 fields") == true)
        #expect(result.rows[4].1.failureReason?.contains("1 MiB") == true)
        #expect(try result.rows[5].1.get() == ["6"])
    }

    @Test func aFolderOrAMissingFileIsUnusable() throws {
        for path in [NSTemporaryDirectory(), "/nonexistent/manifest.csv"] {
            do {
                _ = try ManifestReader(path: path, delimiter: nil).read(onHeader: { _ in }, onRow: { _, _ in })
                Issue.record("expected an error for \(path)")
            } catch let error as ManifestError {
                #expect(ExitTable.jobError(for: error).code == .manifestUnusable)
            }
        }
    }

    @Test func hashesTheWholeFileTheSameWayWhetherParsedOrNot() throws {
        let text = String(repeating: "0612345678,a\n", count: 50_000)
        let path = try TemporaryFiles.write(Array(("msisdn,key\n" + text).utf8))
        let reader = ManifestReader(path: path, delimiter: nil)
        let scan = try reader.read(onHeader: { _ in }, onRow: { _, _ in })
        #expect(scan.dataRows == 50_000)
        #expect(try reader.sha256() == scan.sha256)
        #expect(scan.sha256.count == 64)
    }
}

/// A data row as the reader and the cell decoder saw it.
enum RowOutcome {
    case cells([String])
    case rejected(String)

    struct NotCells: Error {}

    func get() throws -> [String] {
        guard case .cells(let cells) = self else { throw NotCells() }
        return cells
    }

    var failureReason: String? {
        if case .rejected(let reason) = self { return reason }
        return nil
    }
}

/// libcsv's strict mode: a record that is not sound CSV is rejected with the lines it spans, and reading goes on
/// with the next line, so one customer's number never lands on another's key and every line is accounted for.
extension ManifestReaderTests {
    @Test func aQuoteLeftOpenSwallowsLinesOnlyUpToTheNextQuoteAndTheyAreNamed() throws {
        let result = try read("customer_id,msisdn\nC1,\"+31612345678\nC2,0612345679\nC3,\"+31612345680\"\nC4,0612345681\n")
        #expect(result.rows.count == 2)
        let reason = try #require(result.rows[0].1.failureReason)
        #expect(reason.contains("lines 2 to 4"), "\(reason)")
        #expect(reason.contains("column `msisdn`"), "\(reason)")
        #expect(result.rows[0].0 == 1)
        #expect(try result.rows[1].1.get() == ["C4", "0612345681"])
    }

    @Test func textAfterAClosingQuoteOnOneLineRejectsThatRowOnly() throws {
        let result = try read("key,note\n1,\"abc\"def\n2,fine\n")
        #expect(result.rows[0].1.failureReason?.contains("line 2") == true)
        #expect(result.rows[0].1.failureReason?.contains("text follows the closing quote") == true)
        #expect(try result.rows[1].1.get() == ["2", "fine"])
    }

    @Test func aQuoteInsideAnUnquotedCellIsText() throws {
        let result = try read("key,note\n1,ab\"c\n2,5\" screen\n3,fine\n")
        #expect(try result.rows[0].1.get() == ["1", "ab\"c"])
        #expect(try result.rows[1].1.get() == ["2", "5\" screen"])
        #expect(try result.rows[2].1.get() == ["3", "fine"])
    }

    @Test func wellFormedQuotedLineBreaksStayValid() throws {
        let result = try read("key,address\n1,\"Main St 1\n1234 AB, Town\"\n2,x\n")
        #expect(try result.rows[0].1.get() == ["1", "Main St 1\n1234 AB, Town"])
        #expect(try result.rows[1].1.get() == ["2", "x"])
    }

    @Test func aRecordOverSeveralLinesWithTooManyFieldsNamesItsLines() throws {
        let result = try read("key,note\n1,\"two\nlines\",extra\n2,x\n")
        let reason = try #require(result.rows[0].1.failureReason)
        #expect(reason.contains("3 fields") && reason.contains("lines 2 to 3"), "\(reason)")
    }

    @Test func aQuoteOpenToTheEndOfTheFileNamesItsLine() throws {
        do {
            _ = try read("msisdn,note\n\n1,ok\n2,\"never closed\n3,x\n")
            Issue.record("expected an error")
        } catch let error as ManifestError {
            #expect(error.message.contains("data row 2 (line 4)"), "\(error.message)")
        }
    }

    /// Lines split over the reader's chunks: line numbers and the skip after a damaged record still hold.
    @Test(arguments: [1, 2, 3, 5, 7, 64])
    func linesAreCountedAcrossChunks(chunkSize: Int) throws {
        let text = Array("k,v\n\"a\"x,1\n\nb,\"2\n2\"\nc,3\r\nd,\"4\"y tail\ne,5".utf8)
        let reader = CSVReader(delimiter: UInt8(ascii: ","))
        var records: [(ClosedRange<Int>, CSVDamage.Problem?, Int)] = []
        let collect: (borrowing CSVRecord) throws -> Void = { records.append(($0.lines, $0.damage?.problem, $0.fieldCount)) }
        try text.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(start + chunkSize, bytes.count)
                try reader.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), onRecord: collect)
                start = end
            }
        }
        try reader.finish(onRecord: collect)
        #expect(records.map(\.0) == [1...1, 2...2, 4...5, 6...6, 7...7, 8...8])
        #expect(records.map(\.1) == [nil, .textAfterClosingQuote, nil, nil, .textAfterClosingQuote, nil])
        #expect(records.map(\.2) == [2, 0, 2, 2, 1, 2])
    }
}
