/// A local file or folder could not be made, written or replaced (outputs, the state's folder, its lock).
package struct FileSystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file or folder.
    package let path: String
    /// What went wrong and what to check, naming the path and the system's reason.
    package let message: String

    package init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    package var description: String { message }
}
