/// The manifest cannot be used: missing, unreadable, not CSV from some row on, a column missing or ambiguous,
/// or changed since the state was made. The message names the file, the row or column, and what to do.
package struct ManifestError: Error, CustomStringConvertible, Sendable, Equatable {
    package let message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}
