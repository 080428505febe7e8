/// A `title` or `description` with `{column}` placeholders filled in from the row.
struct RowTemplate: Sendable {
    private enum Part: Sendable {
        case text(String)
        case column(index: Int)
    }

    private let parts: [Part]

    /// Parses `text` against the manifest header.
    ///
    /// - Throws: The name of the first placeholder whose column the header lacks.
    init(_ text: String, header: [String]) throws(UnknownColumn) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            if open > rest.startIndex { parts.append(.text(String(rest[..<open]))) }
            let name = String(rest[rest.index(after: open)..<close])
            let wanted = name.trimmingSpaces().lowercased()
            guard let index = header.firstIndex(where: { $0.trimmingSpaces().lowercased() == wanted }) else {
                throw UnknownColumn(name: name)
            }
            parts.append(.column(index: index))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    struct UnknownColumn: Error {
        var name: String
    }

    func render(_ cells: ManifestCells) -> String {
        parts.map { part in
            switch part {
            case .text(let text): text
            case .column(let index): cells[index] ?? ""
            }
        }.joined()
    }
}
