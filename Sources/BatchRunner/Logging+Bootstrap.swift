import Logging

/// Sends logs to stderr at `level`; called once, by the command that runs.
func bootstrapLogging(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    var logger = Logger(label: "batch-runner")
    logger.logLevel = level
    return logger
}
