import Jobs
import Logging

/// Sends logs to stderr at `level`, in `format`, with every known secret scrubbed (``ScrubbingLogHandler``);
/// called once, by the command that runs.
///
/// - Parameters:
///   - level: The least severe level written.
///   - format: `.text` (swift-log's `StreamLogHandler` lines, unchanged) or `.json` (``JSONLogHandler``, one
///     object per line).
/// - Returns: The `batch-runner` logger to hand to the libraries.
func bootstrapLogging(level: Logger.Level, format: LogFormat = .text) -> Logger {
    switch format {
    case .text:
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return ScrubbingLogHandler(wrapped: handler, scrubber: .shared)
        }
    case .json:
        let output = StandardErrorLines()
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler.standardError(label: label, output: output)
            handler.logLevel = level
            return ScrubbingLogHandler(wrapped: handler, scrubber: .shared)
        }
    }
    var logger = Logger(label: "batch-runner")
    logger.logLevel = level
    return logger
}
