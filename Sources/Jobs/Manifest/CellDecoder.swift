/// Turns a CSV record into ``ManifestCells``, or says why the row must be rejected.
enum CellDecoder {
    /// The row's cells, or the reason it is rejected (with the cell's column named, and the row's key from
    /// `keyColumn` when that cell itself is sound, so the reject still says whose row it was).
    static func decode(_ record: borrowing CSVRecord, header: [String], keyColumn: Int? = nil) -> Result<ManifestCells, RowProblem> {
        let result = decodeCells(record, header: header)
        guard case .failure(var problem) = result else { return result }
        // A record that spans lines names them, so every line of the manifest is accounted for.
        if record.lines.count > 1, record.damage == nil { problem.reason += " (\(lineText(record.lines)))" }
        if let keyColumn { problem.key = soundText(record, keyColumn) }
        return .failure(problem)
    }

    /// `line 7`, or `lines 3 to 9`.
    static func lineText(_ lines: ClosedRange<Int>) -> String {
        lines.count == 1 ? "line \(lines.lowerBound)" : "lines \(lines.lowerBound) to \(lines.upperBound)"
    }

    /// Why a damaged record is rejected, and what to do.
    static func describe(_ damage: CSVDamage, column: String, lines: ClosedRange<Int>) -> String {
        switch damage.problem {
        case .textAfterClosingQuote where lines.count > 1:
            return "a quote (\") opened in \(column) on line \(lines.lowerBound) is closed only on line \(lines.upperBound) with text after it, so it swallowed \(lineText(lines)) and their rows were not read: correct the number or text in \(column) on line \(lines.lowerBound) (close its quote, or double the quotes inside it: \"\") and run again"
        case .textAfterClosingQuote:
            return "text follows the closing quote of the quoted cell in \(column), \(lineText(lines)); put the whole cell in double quotes and double every quote inside it (\"\")"
        }
    }

    /// The text of cell `index` when it is kept, within the cell limit, UTF-8 and free of NUL bytes.
    private static func soundText(_ record: borrowing CSVRecord, _ index: Int) -> String? {
        guard index < record.fieldCount, record.fieldLength(index) <= ManifestCells.maximumCellBytes, record.isStored(index) else {
            return nil
        }
        let bytes = record.field(index)
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func decodeCells(_ record: borrowing CSVRecord, header: [String]) -> Result<ManifestCells, RowProblem> {
        if let damage = record.damage {
            let column = damage.field < header.count ? "column `\(header[damage.field])`" : "field \(damage.field + 1), past the header's \(header.count) columns"
            return .failure(RowProblem(value: "", reason: describe(damage, column: column, lines: record.lines)))
        }
        if record.fieldCount > header.count {
            let last = header.last.map { " (the last is `\($0)`)" } ?? ""
            return .failure(RowProblem(value: "", reason: "has \(record.fieldCount) fields but the header names \(header.count) columns\(last); a value with an unquoted delimiter? Put that value in double quotes, or remove the extra delimiters"))
        }
        var values: [String] = []
        values.reserveCapacity(record.fieldCount)
        for index in 0..<record.fieldCount {
            let length = record.fieldLength(index)
            let column = header[index]
            if length > ManifestCells.maximumCellBytes {
                return .failure(RowProblem(value: "", reason: "cell in column `\(column)` is \(length) bytes, over the 1 MiB limit; shorten it"))
            }
            guard record.isStored(index) else {
                return .failure(RowProblem(value: "", reason: "holds more than \(CSVReader.maximumStoredBytes >> 20) MiB in all; shorten its cells"))
            }
            let bytes = record.field(index)
            if bytes.contains(0) {
                let text = String(decoding: bytes, as: UTF8.self).replacingNUL()
                return .failure(RowProblem(value: text, reason: "cell in column `\(column)` contains a NUL byte; remove it"))
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(RowProblem(value: String(decoding: bytes, as: UTF8.self), reason: "cell in column `\(column)` is not valid UTF-8; save the file as CSV (UTF-8)"))
            }
            values.append(text)
        }
        return .success(ManifestCells(values: values))
    }
}

/// Why a row is rejected before the job looks at it.
struct RowProblem: Error {
    var value: String
    var reason: String
    /// The row's key, when its cell could be read.
    var key: String?
}

extension String {
    fileprivate func replacingNUL() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\0" ? "\u{FFFD}" : $0 }))
    }
}
