/// The job file, or the environment it names, is wrong. The message names the file, the key and its line, and
/// what to write instead.
public struct JobFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
