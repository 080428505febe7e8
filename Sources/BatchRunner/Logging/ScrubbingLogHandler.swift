import Jobs
import Logging

/// A log handler that removes every secret the process knows (``SecretScrubber``) from a line's message and
/// metadata before `wrapped` writes it: the last net under the scrubbing of server text where it is read.
struct ScrubbingLogHandler<Wrapped: LogHandler>: LogHandler {
    var wrapped: Wrapped
    let scrubber: SecretScrubber

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(scrubber.scrub(event.message.description))"
        event.metadata = event.metadata?.mapValues(scrub)
        wrapped.log(event: event)
    }

    private func scrub(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(scrubber.scrub(text))
        case .stringConvertible(let convertible): .string(scrubber.scrub(convertible.description))
        case .array(let values): .array(values.map(scrub))
        case .dictionary(let values): .dictionary(values.mapValues(scrub))
        }
    }
}
