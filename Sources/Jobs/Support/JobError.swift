/// An error that ends a run, with the exit code it maps to and a message for the person who reads it.
///
/// Messages say what happened and what to do; they never contain secrets, tokens or personal numbers.
public struct JobError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The documented exit codes (see the README).
    public struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable {
            case usage, manifestUnusable, serviceRefused, ioError, stoppedResumable, configuration, internalError
        }
        private let base: Base

        /// 64: the command line is wrong.
        public static let usage = Code(base: .usage)
        /// 65: the manifest cannot be used (missing, not CSV, missing column, changed since the state was made).
        public static let manifestUnusable = Code(base: .manifestUnusable)
        /// 69: someone must act on the service side: credentials refused, the certificate not trusted, the proxy
        /// refusing, the service unreachable from the run's first request.
        public static let serviceRefused = Code(base: .serviceRefused)
        /// 74: the output folder or the state database cannot be written.
        public static let ioError = Code(base: .ioError)
        /// 75: stopped early; running the same command again resumes.
        public static let stoppedResumable = Code(base: .stoppedResumable)
        /// 78: the job file or the environment is wrong.
        public static let configuration = Code(base: .configuration)
        /// 70: a bug in batch-runner.
        public static let internalError = Code(base: .internalError)

        /// The process exit status for this code.
        public var exitCode: Int32 {
            switch base {
            case .usage: 64
            case .manifestUnusable: 65
            case .serviceRefused: 69
            case .internalError: 70
            case .ioError: 74
            case .stoppedResumable: 75
            case .configuration: 78
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
