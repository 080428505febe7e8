import Foundation

/// The manifest's header row: finds the columns a job needs.
package struct ManifestHeader: Sendable {
    package let names: [String]
    package let manifestPath: String

    package init(names: [String], manifestPath: String) {
        self.names = names
        self.manifestPath = manifestPath
    }

    /// The index of column `name`: exact match first, then ignoring case and surrounding white space (a
    /// no-break space or a byte-order mark from a spreadsheet included).
    ///
    /// - Throws: ``ManifestError`` when it is missing, or appears twice.
    package func index(of name: String, role: String) throws(ManifestError) -> Int {
        var matches = names.indices.filter { names[$0] == name }
        if matches.isEmpty {
            let wanted = Self.loose(name)
            matches = names.indices.filter { Self.loose(names[$0]) == wanted }
        }
        guard let first = matches.first else {
            throw ManifestError("Manifest \(manifestPath) has no column `\(name)` (the \(role) column). \(describeHeader(role: role))")
        }
        guard matches.count == 1 else {
            throw ManifestError("Manifest \(manifestPath) has the column `\(name)` \(matches.count) times (columns \(matches.map { String($0 + 1) }.joined(separator: ", "))); rename the duplicates so the \(role) column is unambiguous.")
        }
        return first
    }

    /// What the header holds, for a message: its names (any that look like data masked), and what to do: add a
    /// header when the first line looks like a data row, fix the delimiter when it looks like another one, else
    /// rename or map the column.
    private func describeHeader(role: String) -> String {
        let shown = names.prefix(20).enumerated().map { index, name in
            name.isEmpty ? "(column \(index + 1) has no name)" : "`\(Self.displayName(name))`"
        }
        var text = "Its header has \(shown.joined(separator: ", "))\(names.count > 20 ? " and \(names.count - 20) more" : "")."
        if let first = names.first, first.lowercased().hasPrefix("sep=") {
            text += " The first line is a spreadsheet's `sep=` hint, not a header: delete that line (the delimiter is detected from the header)."
        } else if names.contains(where: Self.looksLikeData) {
            text += " The first line looks like data, not a header: add a header row naming the columns (the \(role) column among them)."
        } else if let other = Self.otherDelimiter(in: names) {
            text += " It looks separated by \(other), which is not the delimiter in use: remove `delimiter` from the job file to detect it, or set it to match."
        } else {
            text += " Rename the column, or map it with `columns: { \(role): <name> }` in the job file."
        }
        return text
    }

    /// `name` as a message may show it: a name that looks like personal data (six digits or more) is masked.
    package static func displayName(_ name: String) -> String {
        looksLikeData(name) ? maskedForLog(name) : name
    }

    private static func looksLikeData(_ name: String) -> Bool {
        name.utf8.lazy.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count >= 6
    }

    private static func otherDelimiter(in names: [String]) -> String? {
        guard names.count == 1, let only = names.first else { return nil }
        let candidates: [(Character, String)] = [(";", "semicolons"), ("\t", "tabs"), ("|", "pipes"), (",", "commas")]
        return candidates.first { only.contains($0.0) }?.1
    }

    /// `name` without surrounding white space, no-break spaces, zero-width spaces and byte-order marks, lowercased.
    private static func loose(_ name: String) -> String {
        name.trimmingCharacters(in: looseTrimmed).lowercased()
    }

    private static let looseTrimmed = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\u{00A0}\u{200B}\u{FEFF}"))
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
