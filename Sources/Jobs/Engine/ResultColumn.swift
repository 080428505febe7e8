/// One column of results.csv: its header and where its value comes from.
///
/// A job lists its columns once (``BatchJob/resultColumns``). The engine's own columns (`row`, `key`, `status`,
/// `attempts`, `error`, the item's value) come from the finished row; the job's own come from its typed result
/// when the row completes, and cross the store as those columns' values, in column order (blank when the row did
/// not succeed).
package struct ResultColumn<Result: Sendable>: Sendable {
    package enum Source: Sendable {
        /// The engine's: from the finished row.
        case row(@Sendable (FinishedRow) -> String)
        /// The job's: from its result, when the row completes.
        case result(@Sendable (Result) -> String)
    }

    package let name: String
    package let source: Source

    package init(_ name: String, _ source: Source) {
        self.name = name
        self.source = source
    }

    /// A field of the job's result; blank for rows without one.
    package static func field(_ name: String, _ value: @escaping @Sendable (Result) -> String) -> Self {
        Self(name, .result(value))
    }

    /// The 1-based data row number.
    package static var row: Self { Self("row", .row { String($0.row) }) }
    /// The manifest's key cell.
    package static var key: Self { Self("key", .row { $0.key ?? "" }) }
    /// The work item's value (the normalised number, say) under `name`.
    package static func value(_ name: String) -> Self { Self(name, .row { $0.value }) }
    /// `ok`, `failed`, `not_found` or `unknown`.
    package static var status: Self {
        Self(
            "status",
            .row { row in
                switch row.state {
                case .succeeded: "ok"
                case .failed: "failed"
                case .notFound: "not_found"
                default: "unknown"
                }
            }
        )
    }
    /// Sends of the row's requests that counted as attempts.
    package static var attempts: Self { Self("attempts", .row { String($0.attempts) }) }
    /// Why the row failed, or a note on a succeeded one.
    package static var error: Self { Self("error", .row { $0.error ?? "" }) }
}

extension BatchJob {
    /// The header of results.csv.
    package var resultHeader: [String] { resultColumns.map(\.name) }

    /// What the store keeps of a result: the job's columns' values, in column order.
    package func storedFields(of result: Result) -> [String] {
        makeStoredFields()(result)
    }

    /// ``storedFields(of:)`` with the columns laid out once: a run calls it for every succeeded row.
    package func makeStoredFields() -> @Sendable (Result) -> [String] {
        let fields: [@Sendable (Result) -> String] = resultColumns.compactMap { column in
            if case .result(let value) = column.source { value } else { nil }
        }
        return { result in fields.map { $0(result) } }
    }

    /// What turns finished rows into results.csv fields, with the columns laid out once: results.csv of a million
    /// rows calls it a million times.
    package func makeResultFormatter() -> (FinishedRow) -> [String] {
        var fieldIndex = 0
        let cells: [(FinishedRow) -> String] = resultColumns.map { column in
            switch column.source {
            case .row(let value):
                return value
            case .result:
                let index = fieldIndex
                fieldIndex += 1
                return { row in
                    guard let stored = row.result, index < stored.count else { return "" }
                    return stored[index]
                }
            }
        }
        return { row in cells.map { $0(row) } }
    }
}
