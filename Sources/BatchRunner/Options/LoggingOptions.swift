import ArgumentParser
import Logging

/// The form of the log lines on stderr.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// `2026-11-23T03:00:01+0000 info batch-runner: rows.total=14 [Jobs] manifest read`, for people and cron mail.
    case text
    /// One JSON object per line (``JSONLogHandler``), for log collectors.
    case json
}

/// `--log-level` and `--log-format`, shared by every subcommand that logs:
///
/// ```swift
/// struct RunCommand: AsyncParsableCommand {
///     @OptionGroup var logging: LoggingOptions
///     func run() async throws {
///         let logger = logging.bootstrap()
///     }
/// }
/// ```
struct LoggingOptions: ParsableArguments {
    @Option(help: "The least severe log level written to stderr.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log lines as text, or as one JSON object per line (timestamp, level, label, message, metadata, source) for log collectors.")
    var logFormat: LogFormat = .text

    /// Bootstraps the logging system with these options (once per process) and answers the command's logger.
    func bootstrap() -> Logger {
        bootstrapLogging(level: logLevel, format: logFormat)
    }
}
