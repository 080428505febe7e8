import Foundation

/// One column of results.csv: its header and how a finished row fills it in.
///
/// A job lists its columns once (``BatchJob/resultColumns``); the engine's own columns (`row`, `key`, `status`,
/// `attempts`, `error`) come from the finished row, the job's from its typed result, blank when the row failed.
package struct ResultColumn<Result: Sendable>: Sendable {
    package let name: String
    package let value: @Sendable (_ row: FinishedRow, _ result: Result?) -> String

    package init(_ name: String, value: @escaping @Sendable (_ row: FinishedRow, _ result: Result?) -> String) {
        self.name = name
        self.value = value
    }

    /// A field of the job's result; blank for rows without one.
    package static func field(_ name: String, _ value: @escaping @Sendable (Result) -> String) -> Self {
        Self(name) { _, result in result.map(value) ?? "" }
    }

    /// The 1-based data row number.
    package static var row: Self { Self("row") { row, _ in String(row.row) } }
    /// The manifest's key cell.
    package static var key: Self { Self("key") { row, _ in row.key ?? "" } }
    /// The work item's value (the normalised number, say) under `name`.
    package static func value(_ name: String) -> Self { Self(name) { row, _ in row.value } }
    /// `ok`, `failed` or `unknown`.
    package static var status: Self {
        Self("status") { row, _ in
            switch row.state {
            case .succeeded: "ok"
            case .failed: "failed"
            default: "unknown"
            }
        }
    }
    /// Sends of the row's requests that counted as attempts.
    package static var attempts: Self { Self("attempts") { row, _ in String(row.attempts) } }
    /// Why the row failed, or a note on a succeeded one.
    package static var error: Self { Self("error") { row, _ in row.error ?? "" } }
}

extension BatchJob {
    /// The header of results.csv.
    package var resultHeader: [String] { resultColumns.map(\.name) }

    /// The results.csv fields of a finished row.
    package func resultFields(of row: FinishedRow) -> [String] {
        makeResultFormatter()(row)
    }

    /// What turns finished rows into results.csv fields, with the columns and a decoder made once: results.csv
    /// of a million rows calls it a million times.
    package func makeResultFormatter() -> (FinishedRow) -> [String] {
        let columns = resultColumns
        let decoder = JSONDecoder()
        return { row in
            let result = row.result.flatMap { decodeResult($0, with: decoder) }
            return columns.map { $0.value(row, result) }
        }
    }

    /// The stored form of a result.
    package static func encodeResult(_ result: Result) throws -> String {
        String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
    }

    /// A stored result: the job's JSON, or the list of fields a state from before typed results kept.
    func decodeResult(_ stored: String, with decoder: JSONDecoder = JSONDecoder()) -> Result? {
        let data = Data(stored.utf8)
        if stored.hasPrefix("["), let fields = try? decoder.decode([String].self, from: data) {
            return result(legacyFields: fields)
        }
        return try? decoder.decode(Result.self, from: data)
    }
}
