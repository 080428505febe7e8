/// The manifest's header row: finds the columns a job needs.
package struct ManifestHeader: Sendable {
    package let names: [String]
    package let manifestPath: String

    package init(names: [String], manifestPath: String) {
        self.names = names
        self.manifestPath = manifestPath
    }

    /// The index of column `name`: exact match first, then ignoring case and surrounding spaces.
    ///
    /// - Throws: ``JobError`` 65 when it is missing, or appears twice.
    package func index(of name: String, role: String) throws(JobError) -> Int {
        var matches = names.indices.filter { names[$0] == name }
        if matches.isEmpty {
            let wanted = name.trimmingSpaces().lowercased()
            matches = names.indices.filter { names[$0].trimmingSpaces().lowercased() == wanted }
        }
        guard let first = matches.first else {
            let available = names.map { "`\($0)`" }.joined(separator: ", ")
            throw JobError(.manifestUnusable, "Manifest \(manifestPath) has no column `\(name)` (the \(role) column). Its header has \(available). Rename the column, or map it with `columns: { \(role): <name> }` in the job file.")
        }
        guard matches.count == 1 else {
            throw JobError(.manifestUnusable, "Manifest \(manifestPath) has the column `\(name)` \(matches.count) times (columns \(matches.map { String($0 + 1) }.joined(separator: ", "))); rename the duplicates so the \(role) column is unambiguous.")
        }
        return first
    }
}

/// The cells of one data row, decoded and checked: every cell is UTF-8 text without NUL bytes and within the
/// size limit (``ManifestCells/maximumCellBytes``).
package struct ManifestCells: Sendable {
    /// Cells larger than this reject their row: 1 MiB.
    package static let maximumCellBytes = 1 << 20
    package let values: [String]

    package init(values: [String]) {
        self.values = values
    }

    /// The cell at `index`, or nil when the row is shorter.
    package subscript(index: Int) -> String? { index < values.count ? values[index] : nil }
}
