/// Turns a CSV record into ``ManifestCells``, or says why the row must be rejected.
enum CellDecoder {
    /// The row's cells, or the reason it is rejected (with the cell's column named).
    static func decode(_ record: borrowing CSVRecord, header: [String]) -> Result<ManifestCells, RowProblem> {
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
}

extension String {
    fileprivate func replacingNUL() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\0" ? "\u{FFFD}" : $0 }))
    }
}
