public import ArgumentParser
import Foundation
import Jobs
public import Logging

/// Prints `message` on stderr and answers the `ExitCode` to throw: the one place errors become exit codes
/// (argument-parser's own usage errors keep its 64).
///
/// - Parameter format: The run's `--log-format`: with `.json` the message is one more JSON log line, so that a
///   log collector reading stderr sees nothing but JSON.
func failure(code: Int32, _ message: String, format: LogFormat = .text) -> ExitCode {
    printClosingMessage(message, exitCode: code, format: format)
    return ExitCode(code)
}

/// Maps `error` through the exit table (``ExitTable``), prints its message and answers its exit code.
func failure(_ error: any Error, during phase: ExitTable.Phase = .start, format: LogFormat = .text) -> ExitCode {
    let ending = ExitTable.jobError(for: error, during: phase)
    return failure(code: ending.code.exitCode, ending.message, format: format)
}

/// Prints the message a run ends with on stderr: `batch-runner: message` as text; in JSON format a log object
/// (`label` batch-runner, `level` notice for exit 0, warning for 75, error otherwise) with `exit_code` in its
/// metadata.
func printClosingMessage(_ message: String, exitCode: Int32, format: LogFormat = .text) {
    let message = SecretScrubber.shared.scrub(message)
    let line: String
    switch format {
    case .text:
        line = "batch-runner: \(message)\n"
    case .json:
        let level: Logger.Level = exitCode == 0 ? .notice : exitCode == 75 ? .warning : .error
        line = JSONLogHandler.line(
            timestamp: Date(),
            level: level,
            label: "batch-runner",
            message: message,
            metadata: ["exit_code": "\(exitCode)"],
            source: "BatchRunner"
        )
    }
    FileHandle.standardError.write(Data(line.utf8))
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
