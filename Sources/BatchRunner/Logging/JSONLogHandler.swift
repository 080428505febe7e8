import Foundation
import Logging
import Jobs
import Synchronization
import SystemPackage

/// Writes every log event as one JSON object on one line, for log collectors (journald, Loki, CloudWatch):
///
/// ```json
/// {"timestamp":"2026-11-23T03:00:01.042Z","level":"info","label":"batch-runner","message":"run finished","metadata":{"exit_code":"0","rows.total":"14"},"source":"Jobs"}
/// ```
///
/// - `timestamp`: ISO 8601, UTC, milliseconds.
/// - `level`: `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
/// - `metadata`: always an object whose values are all strings, keys sorted. A nested dictionary is flattened
///   into dotted keys (`http` → `status` becomes `http.status`); an array becomes its text (`["a", "b"]`).
///   Metadata of the logger, of its metadata provider and of the call merge in that order, later keys winning,
///   as ``StreamLogHandler`` does; an attached error adds `error.message` and `error.type`.
/// - `source`: the module that logged (`Jobs`, `BatchRunner`).
///
/// Strings are escaped per RFC 8259: quotes, backslashes and every control character (C0, DEL, C1), plus
/// U+2028 and U+2029, so no value can break the line or the object, or smuggle terminal escapes.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - label: The logger's label, written as `label`.
    ///   - metadataProvider: Adds contextual metadata to every event.
    ///   - now: The clock of the `timestamp` field.
    ///   - write: Receives each line, newline included; called once per event.
    init(
        label: String,
        metadataProvider: Logger.MetadataProvider? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        write: @escaping @Sendable (String) -> Void
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.now = now
        self.write = write
    }

    /// A handler writing to stderr through `output`, which keeps the lines of concurrent loggers apart.
    static func standardError(label: String, output: StandardErrorLines) -> JSONLogHandler {
        JSONLogHandler(label: label, metadataProvider: LoggingSystem.metadataProvider) { output.write($0) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        write(
            Self.line(
                timestamp: now(),
                level: event.level,
                label: label,
                message: event.message.description,
                metadata: merged,
                source: event.source
            )
        )
    }

    // MARK: - Encoding

    /// One JSON object and a newline; also used for the closing message of a run in JSON format.
    static func line(
        timestamp: Date,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata,
        source: String
    ) -> String {
        var flat: [String: String] = [:]
        flatten(metadata, prefix: "", into: &flat)
        var out = "{\"timestamp\":\""
        out += WallClock.iso8601(epochSeconds: timestamp.timeIntervalSince1970)
        out += "\",\"level\":"
        appendString(level.rawValue, to: &out)
        out += ",\"label\":"
        appendString(label, to: &out)
        out += ",\"message\":"
        appendString(message, to: &out)
        out += ",\"metadata\":{"
        for (index, key) in flat.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            appendString(key, to: &out)
            out += ":"
            appendString(flat[key] ?? "", to: &out)
        }
        out += "},\"source\":"
        appendString(source, to: &out)
        out += "}\n"
        return out
    }

    /// Nested dictionaries become dotted keys. Dictionaries go first, so a key spelled out at a level wins over
    /// the same dotted key coming from a dictionary.
    private static func flatten(_ metadata: Logger.Metadata, prefix: String, into flat: inout [String: String]) {
        func name(_ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }
        for (key, value) in metadata {
            if case .dictionary(let nested) = value { flatten(nested, prefix: name(key), into: &flat) }
        }
        for (key, value) in metadata {
            switch value {
            case .dictionary: continue
            case .string(let text): flat[name(key)] = text
            case .stringConvertible(let convertible): flat[name(key)] = convertible.description
            case .array: flat[name(key)] = value.description
            }
        }
    }

    /// Appends `text` as a JSON string literal.
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028
                || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16, uppercase: false)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// Writes whole lines to stderr (file descriptor 2), one at a time, unbuffered: a line is never interleaved
/// with another logger's, and nothing is lost when the process exits right after.
final class StandardErrorLines: Sendable {
    private let lock = Mutex(())

    init() {}

    func write(_ line: String) {
        lock.withLock { _ in
            // A closed or broken stderr: the line cannot go anywhere.
            _ = try? FileDescriptor.standardError.writeAll(line.utf8)
        }
    }
}
