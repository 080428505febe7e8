/// Turns a CSV record into ``ManifestCells``, or says why the row must be rejected.
enum CellDecoder {
    /// The row's cells, or the reason it is rejected (with the cell's column named).
    static func decode(_ record: borrowing CSVRecord, header: [String]) -> Result<ManifestCells, RowProblem> {
        if record.fieldCount > header.count {
            return .failure(RowProblem(value: "", reason: "has \(record.fieldCount) fields but the header has \(header.count); a value with an unquoted delimiter? Put that value in double quotes"))
        }
        var values: [String] = []
        values.reserveCapacity(record.fieldCount)
        for index in 0..<record.fieldCount {
            let bytes = record.field(index)
            let column = header[index]
            if bytes.count > ManifestCells.maximumCellBytes {
                return .failure(RowProblem(value: "", reason: "cell in column `\(column)` is \(bytes.count) bytes, over the 1 MiB limit; shorten it"))
            }
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
