/// Transaction and result IDs, checked before they reach a URL or a file name.
///
/// The service's IDs are UUIDs; anything made of 1 to 100 ASCII letters, digits, `.` and `-` that starts with a
/// letter or digit is accepted, so no ID can climb out of a folder (`..`, `/`), hide a file (leading `.`), or
/// change a URL (`?`, `#`, `%`). `_` is refused too: it separates the IDs in a report's file name
/// (`<transaction>_<result>_<type>.pdf`), so with it two different pairs could name the same file.
enum IDScanID {
    static let maximumLength = 100

    /// The work item value of an export row: `<transaction>/<result>` (`/` never occurs in a safe ID).
    static func pairValue(transaction: String, result: String) -> String { transaction + "/" + result }

    /// The transaction and result IDs of a work item value made by ``pairValue(transaction:result:)``.
    static func pair(_ value: String) -> (transaction: String, result: String) {
        let ids = value.split(separator: "/", maxSplits: 1).map(String.init)
        return (ids.first ?? "", ids.count > 1 ? ids[1] : "")
    }

    static func isSafe(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard let first = bytes.first, bytes.count <= maximumLength, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Why `id` (of the `column` column) is refused, for rejects.csv.
    static func problem(_ id: String, column: String) -> String? {
        if id.isEmpty { return "\(column) is empty; fill in the ID from the ID Scan result" }
        guard isSafe(id) else {
            return "\(column) is not an ID Scan ID (1 to \(maximumLength) letters, digits, '.' or '-', starting with a letter or digit); copy the ID exactly as ID Scan gave it"
        }
        return nil
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
    }
}
