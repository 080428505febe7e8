public import ArgumentParser
import Foundation
import Jobs
public import Logging

/// Prints `message` on stderr and answers the `ExitCode` to throw: the one place errors become exit codes
/// (argument-parser's own usage errors keep its 64).
func failure(code: Int32, _ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("batch-runner: \(message)\n".utf8))
    return ExitCode(code)
}

func failure(_ error: JobError) -> ExitCode {
    failure(code: error.code.exitCode, error.message)
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
