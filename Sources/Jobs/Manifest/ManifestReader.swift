import Crypto
import Foundation

/// Streams a manifest file: detects its dialect, hands over the header and every data record, and hashes every
/// byte on the way, in one pass and in constant memory.
///
/// Dialect: UTF-8 with or without a byte-order mark, CRLF or LF line ends, and a delimiter that is either given
/// or detected from the header line (the most frequent of comma, semicolon, tab and pipe outside quotes).
struct ManifestReader {
    static let chunkSize = 256 << 10
    let path: String
    let delimiter: UInt8?

    /// What one full read of a manifest found.
    struct Scan: Sendable, Equatable {
        /// SHA-256 of the file's bytes, hex.
        var sha256: String
        /// Data records, the header not counted.
        var dataRows: Int
        var delimiter: UInt8
    }

    /// Reads the whole manifest.
    ///
    /// - Parameters:
    ///   - onHeader: Gets the header's cells (BOM removed, spaces trimmed).
    ///   - onRow: Gets each data record with its 1-based data row number (blank lines are skipped, not numbered).
    /// - Throws: ``ManifestError`` when the file is missing, unreadable, empty, or not CSV from some row on;
    ///   whatever the callbacks throw.
    func read(
        onHeader: ([String]) throws -> Void,
        onRow: (Int, borrowing CSVRecord) throws -> Void
    ) throws -> Scan {
        // libcsv calls back while a chunk is parsed; the callbacks never outlive this call.
        try withoutActuallyEscaping(onHeader) { onHeader in
            try withoutActuallyEscaping(onRow) { onRow in
                try read(escapingHeader: onHeader, escapingRow: onRow)
            }
        }
    }

    private func read(
        escapingHeader onHeader: @escaping ([String]) throws -> Void,
        escapingRow onRow: @escaping (Int, borrowing CSVRecord) throws -> Void
    ) throws -> Scan {
        let file = try ManifestFile(path: path)
        defer { file.close() }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        var reader: CSVReader?
        var chosenDelimiter = delimiter ?? UInt8(ascii: ",")
        var sawHeader = false
        var header: [String] = []
        var dataRows = 0
        var isFirstChunk = true

        func deliver(_ record: borrowing CSVRecord) throws {
            if !sawHeader {
                if record.isBlank { return }
                if let damage = record.damage {
                    throw ManifestError("Manifest \(path): the header row (\(CellDecoder.lineText(record.lines))) is not sound CSV: \(CellDecoder.describe(damage, column: "column \(damage.field + 1)", lines: record.lines)). Fix the header and run again.")
                }
                sawHeader = true
                header = try Self.headerCells(record, path: path)
                try onHeader(header)
                return
            }
            if record.isBlank { return }
            dataRows += 1
            try onRow(dataRows, record)
        }

        do {
            while true {
                let count = try file.read(into: &buffer)
                if count == 0 { break }
                try buffer.withUnsafeBytes { raw in
                    var chunk = UnsafeRawBufferPointer(rebasing: raw[0..<count])
                    hasher.update(bufferPointer: chunk)
                    if isFirstChunk {
                        isFirstChunk = false
                        if let encoding = Self.unicodeEncoding(of: chunk) {
                            throw ManifestError("Manifest \(path) is \(encoding) text (it starts with a \(encoding) byte-order mark); save it as CSV (UTF-8) and run again.")
                        }
                        if chunk.starts(with: [0xEF, 0xBB, 0xBF]) { chunk = UnsafeRawBufferPointer(rebasing: chunk[3...]) }
                        if delimiter == nil { chosenDelimiter = Self.detectDelimiter(in: chunk) }
                        reader = CSVReader(delimiter: chosenDelimiter)
                    }
                    try reader!.feed(chunk) { try deliver($0) }
                }
            }
            try reader?.finish { try deliver($0) }
        } catch let error as CSVStructureError {
            throw Self.describe(error, path: path, header: sawHeader ? header : nil, dataRow: dataRows + 1)
        }
        guard sawHeader else {
            throw ManifestError("Manifest \(path) is empty: it needs a header row naming its columns, then one row per record.")
        }
        return Scan(sha256: hasher.finalize().hexString, dataRows: dataRows, delimiter: chosenDelimiter)
    }

    /// Hashes the manifest without parsing it (resuming a run only needs to know it has not changed).
    func sha256() throws -> String {
        let file = try ManifestFile(path: path)
        defer { file.close() }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        while true {
            let count = try file.read(into: &buffer)
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return hasher.finalize().hexString
    }

    private static func headerCells(_ record: borrowing CSVRecord, path: String) throws -> [String] {
        guard record.fieldCount <= CSVReader.maximumStoredFields else {
            throw ManifestError("Manifest \(path): the header row has \(record.fieldCount) columns, more than the \(CSVReader.maximumStoredFields) a manifest may have; is this a CSV file? Check the file and its delimiter, then run again.")
        }
        var cells: [String] = []
        for index in 0..<record.fieldCount {
            guard record.isStored(index) else {
                throw ManifestError("Manifest \(path): column \(index + 1) of the header row is \(record.fieldLength(index)) bytes long; is this a CSV file? Its first line must name the columns.")
            }
            let bytes = record.field(index)
            if bytes.contains(0) {
                throw ManifestError("Manifest \(path): column \(index + 1) of the header row contains a NUL byte; is this a CSV file? Save it as CSV (UTF-8) and run again.")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ManifestError("Manifest \(path): column \(index + 1) of the header row is not UTF-8 text; is this a CSV file? Save it as CSV (UTF-8) and run again.")
            }
            cells.append(text)
        }
        return cells
    }

    /// The encoding a UTF-16 or UTF-32 byte-order mark at the start announces.
    static func unicodeEncoding(of chunk: UnsafeRawBufferPointer) -> String? {
        if chunk.starts(with: [0xFF, 0xFE, 0x00, 0x00]) || chunk.starts(with: [0x00, 0x00, 0xFE, 0xFF]) { return "UTF-32" }
        if chunk.starts(with: [0xFF, 0xFE]) || chunk.starts(with: [0xFE, 0xFF]) { return "UTF-16" }
        return nil
    }

    /// The most frequent of `,` `;` tab `|` outside quotes on the first line that is not blank; comma on a tie or
    /// when none occurs.
    static func detectDelimiter(in chunk: UnsafeRawBufferPointer) -> UInt8 {
        let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")]
        var counts = [Int](repeating: 0, count: candidates.count)
        var inQuotes = false
        var lineHasText = false
        for byte in chunk {
            if byte == UInt8(ascii: "\"") { inQuotes.toggle(); lineHasText = true; continue }
            if inQuotes { continue }
            if byte == 0x0A || byte == 0x0D {
                if lineHasText { break }
                counts = counts.map { _ in 0 }  // a line of spaces and tabs is blank
                continue
            }
            if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") { lineHasText = true }
            if let index = candidates.firstIndex(of: byte) { counts[index] += 1 }
        }
        guard let best = counts.indices.max(by: { counts[$0] < counts[$1] }), counts[best] > 0 else {
            return UInt8(ascii: ",")
        }
        return candidates[best]
    }

    /// A message naming where the problem starts: the row (`dataRow`, or the header row when `header` is nil)
    /// and the column.
    private static func describe(_ error: CSVStructureError, path: String, header: [String]?, dataRow: Int) -> ManifestError {
        let place: String
        if let header {
            let column = error.field < header.count
                ? "column `\(ManifestHeader.displayName(header[error.field]))`"
                : "field \(error.field + 1), past the header's \(header.count) columns"
            place = "data row \(dataRow) (line \(error.line)), \(column)"
        } else {
            place = "the header row (line \(error.line)), column \(error.field + 1)"
        }
        switch error.problem {
        case .unterminatedQuote:
            return ManifestError("Manifest \(path): a quoted field that starts in \(place) is never closed, so the rest of the file would be read as one value. Close or remove that quote (\") and run again.")
        case .fieldTooLong:
            return ManifestError("Manifest \(path): a field in \(place) grows beyond \(CSVReader.hardFieldLimit >> 20) MiB, so this is not a CSV manifest, or a quote (\") there is never closed. Check that the file is the manifest, close that quote, and run again.")
        case .parser(let message):
            return ManifestError("Manifest \(path): cannot be read as CSV at \(place) (\(message)). Check that the file is a CSV manifest and run again.")
        }
    }
}

extension Crypto.Digest {
    /// Lowercase hex.
    var hexString: String {
        var text = ""
        text.reserveCapacity(Self.byteCount * 2)
        for byte in self {
            text.append(Character(Unicode.Scalar(Self.hexDigits[Int(byte >> 4)])))
            text.append(Character(Unicode.Scalar(Self.hexDigits[Int(byte & 0x0F)])))
        }
        return text
    }

    private static var hexDigits: [UInt8] { Array("0123456789abcdef".utf8) }
}
