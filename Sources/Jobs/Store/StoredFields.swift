/// How the SQLite store keeps a result's columns in one text column: the values joined with U+001F, with U+001B
/// escaping (U+001B as U+001B `E`, U+001F as U+001B `S`) so that any value round-trips. A value with neither,
/// which every answer so far has been, is kept as it is: states written by earlier versions read the same.
enum StoredFields {
    private static let separator: Character = "\u{1F}"
    private static let escape: Character = "\u{1B}"

    static func encode(_ fields: [String]?) -> String? {
        fields.map { fields in
            fields.map { field in
                guard field.contains(where: { $0 == separator || $0 == escape }) else { return field }
                var escaped = ""
                for character in field {
                    switch character {
                    case escape: escaped += "\u{1B}E"
                    case separator: escaped += "\u{1B}S"
                    default: escaped.append(character)
                    }
                }
                return escaped
            }.joined(separator: String(separator))
        }
    }

    /// Nil for no result; an empty text (a failed row of an earlier version) is no result either.
    static func decode(_ text: String?) -> [String]? {
        guard let text, !text.isEmpty else { return nil }
        return text.split(separator: separator, omittingEmptySubsequences: false).map { part in
            guard part.contains(escape) else { return String(part) }
            var field = ""
            var escaping = false
            for character in part {
                if escaping {
                    field.append(character == "S" ? separator : escape)
                    escaping = false
                } else if character == escape {
                    escaping = true
                } else {
                    field.append(character)
                }
            }
            return field
        }
    }
}
