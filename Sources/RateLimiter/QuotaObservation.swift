/// What one API answer said about the caller's quota, parsed from its headers.
///
/// Built from `quota-limit`, `quota-used`, `quota-interval`, `quota-time-unit`, `quota-reset-UTC`, `Retry-After`
/// and `Date`, matched case-insensitively. Every field is optional: gateways omit headers, send `n/a`, or send
/// forms nobody documented. Times are kept relative to the server's own `Date` header, so a client clock that is
/// minutes off does not matter.
public struct QuotaObservation: Sendable, Equatable {
    /// Calls allowed per window (`quota-limit`).
    public var limit: Int?
    /// Calls the server has counted in the current window (`quota-used`).
    public var used: Int?
    /// The window's length (`quota-interval` x `quota-time-unit`).
    public var window: Duration?
    /// How long after this answer the window resets: `quota-reset-UTC` minus the server's `Date`.
    public var resetIn: Duration?
    /// `Retry-After`, in seconds or as an HTTP date relative to `Date`.
    public var retryAfter: Duration?
    /// The answer's `Date` header as epoch seconds (the server's clock), when it had a readable one.
    public var serverEpochSeconds: Double?

    public init(
        limit: Int? = nil,
        used: Int? = nil,
        window: Duration? = nil,
        resetIn: Duration? = nil,
        retryAfter: Duration? = nil,
        serverEpochSeconds: Double? = nil
    ) {
        self.limit = limit
        self.used = used
        self.window = window
        self.resetIn = resetIn
        self.retryAfter = retryAfter
        self.serverEpochSeconds = serverEpochSeconds
    }

    /// Whether the answer carried enough to count calls against a limit.
    public var hasQuota: Bool { limit != nil && used != nil }

    /// Parses an answer's headers.
    ///
    /// - Parameters:
    ///   - headers: The answer's header fields, names in any letter case.
    ///   - localEpochSeconds: The local wall clock when the answer arrived, used only when the answer has no
    ///     `Date` header to measure the reset against.
    public init(headers: some Sequence<(name: String, value: String)>, localEpochSeconds: Double) {
        var values: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            switch key {
            case "quota-limit", "quota-used", "quota-interval", "quota-time-unit", "quota-reset-utc", "retry-after",
                "date":
                values[key] = value.trimmingSpaces()
            default:
                continue
            }
        }
        self.init()
        self.limit = values["quota-limit"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        self.used = values["quota-used"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        if let interval = values["quota-interval"].flatMap({ Int($0) }), interval > 0,
            let unit = values["quota-time-unit"].flatMap(QuotaTimeUnit.init(header:))
        {
            self.window = unit.duration * interval
        }
        self.serverEpochSeconds = values["date"].flatMap(HTTPDateParser.epochSeconds(rfc1123:))
        let serverNow = serverEpochSeconds ?? localEpochSeconds
        if let reset = values["quota-reset-utc"].flatMap(HTTPDateParser.epochSeconds(resetHeader:)) {
            self.resetIn = .seconds(max(0, reset - serverNow))
        }
        if let retry = values["retry-after"] {
            if let seconds = Int(retry), seconds >= 0 {
                self.retryAfter = .seconds(seconds)
            } else if let date = HTTPDateParser.epochSeconds(rfc1123: retry) {
                self.retryAfter = .seconds(max(0, date - serverNow))
            }
        }
    }
}

/// The units `quota-time-unit` takes.
enum QuotaTimeUnit: Sendable {
    case second, minute, hour, day, week, month

    init?(header: String) {
        switch header.lowercased() {
        case "second", "seconds": self = .second
        case "minute", "minutes": self = .minute
        case "hour", "hours": self = .hour
        case "day", "days": self = .day
        case "week", "weeks": self = .week
        case "month", "months": self = .month
        default: return nil
        }
    }

    /// A month counts as 30 days: the only use is pacing, where an estimate is enough.
    var duration: Duration {
        switch self {
        case .second: .seconds(1)
        case .minute: .seconds(60)
        case .hour: .seconds(3_600)
        case .day: .seconds(86_400)
        case .week: .seconds(604_800)
        case .month: .seconds(2_592_000)
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
