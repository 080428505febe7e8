/// Where a saved file may live in an output folder: `qr/`, `reports/` or `images/`, then a file name made only of
/// letters, digits, `.`, `-` and `_`, not starting with `.`, without `..`, at most 255 bytes. The runner only
/// ever records such paths; a stored path is checked against this before it is joined to a folder, since a state
/// restored or shared from elsewhere is not necessarily trustworthy (`reports/../../x` would write outside it).
enum SavedFilePath {
    static let folders: Set<Substring> = ["qr", "reports", "images"]

    static func isSafe(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, folders.contains(parts[0]) else { return false }
        let name = parts[1].utf8
        guard let first = name.first, first != UInt8(ascii: "."), name.count <= 255, !parts[1].contains("..") else { return false }
        return name.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// The refusal of an unsafe stored `path` of `row`: the path is shown escaped and cut short, never followed.
    static func refusal(_ path: String, row: Int64, state: String) -> FileSystemError {
        let shown = String(path.unicodeScalars.prefix(80).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "?" }.joined())
        return FileSystemError(
            path: state,
            "The state \(state) records a saved file of row \(row) at `\(shown)`, which is not qr/, reports/ or images/ followed by a file name; batch-runner never records such a path, so the state was changed outside it (restored or shared from elsewhere?). Nothing was written; export from a state you trust."
        )
    }
}
