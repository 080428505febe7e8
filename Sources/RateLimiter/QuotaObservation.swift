import Synchronization

/// What one API answer said about the caller's quota, parsed from its headers.
///
/// Built from `quota-limit`, `quota-used`, `quota-interval`, `quota-time-unit`, `quota-reset-UTC`, `Retry-After`
/// and `Date`, matched case-insensitively. Every field is optional: gateways omit headers, send `n/a`, or send
/// forms nobody documented. Times are kept relative to the server's own `Date` header, so a client clock that is
/// minutes off does not matter.
public struct QuotaObservation: Sendable, Equatable {
    /// Calls allowed per window (`quota-limit`), 0 to 2^53.
    public var limit: Int?
    /// Calls the server has counted in the current window (`quota-used`), 0 to 2^53.
    public var used: Int?
    /// The window's length (`quota-interval` x `quota-time-unit`), at most 100 years.
    public var window: Duration?
    /// How long after this answer the window resets: `quota-reset-UTC` minus the server's `Date`, at most 100 years.
    public var resetIn: Duration?
    /// `Retry-After`, in seconds or as an HTTP date relative to `Date`, at most 100 years.
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

    /// The longest duration an observation reports, in seconds: 100 years. A longer window, reset or `Retry-After`
    /// is reported as this: it means "not during this run" all the same, while larger values overflow
    /// `Duration` arithmetic or the clock's deadlines downstream (`ContinuousClock.sleep(until:)` traps when a
    /// deadline's seconds pass Int64).
    static let longest: Int64 = 100 * 365 * 86_400

    /// The largest `quota-limit` and `quota-used` read as counts: 2^53. Larger ones are unreadable, like those past
    /// Int's range: no gateway counts that far, and the limiter adds and subtracts the requests in flight to them
    /// (`used + inFlight` would overflow Int).
    static let largestCount = 1 << 53

    /// Whether the answer carried enough to count calls against a limit.
    public var hasQuota: Bool { limit != nil && used != nil }

    /// Parses an answer's headers.
    ///
    /// - Parameters:
    ///   - headers: The answer's header fields, names in any letter case.
    ///   - localEpochSeconds: The local wall clock when the answer arrived, used only when the answer has no
    ///     `Date` header to measure the reset against.
    public init(headers: some Sequence<(name: String, value: String)>, localEpochSeconds: Double) {
        var reader = HeaderReader()
        for (name, value) in headers { reader.read(name: name, value: value) }
        self = reader.observation(localEpochSeconds: localEpochSeconds)
    }

    /// Reads an answer's headers one at a time, for callers that hold them in a type of their own: every answer
    /// passes here, so names are matched without lower-casing copies and values kept only when wanted (and no
    /// generic sequence is walked, which costs a metadata lookup per header across modules).
    ///
    /// ```swift
    /// var reader = QuotaObservation.HeaderReader()
    /// for header in response.headers { reader.read(name: header.name, value: header.value) }
    /// let observation = reader.observation(localEpochSeconds: now)
    /// ```
    public struct HeaderReader {
        fileprivate var limit, used, interval, timeUnit, resetUTC, retryAfter, date: String?

        public init() {}

        public mutating func read(name: String, value: String) {
            guard let header = HeaderName(matching: name) else { return }
            let value = value.trimmingSpaces()
            switch header {
            case .limit: limit = value
            case .used: used = value
            case .interval: interval = value
            case .timeUnit: timeUnit = value
            case .resetUTC: resetUTC = value
            case .retryAfter: retryAfter = value
            case .date: date = value
            }
        }

        /// The observation of the headers read; parameters as for ``QuotaObservation/init(headers:localEpochSeconds:)``.
        ///
        /// - Parameter dates: Remembers the last `Date` header parsed (every answer carries one, and it changes
        ///   once a second); nil parses each.
        public func observation(localEpochSeconds: Double, dates: DateHeaderMemo? = nil) -> QuotaObservation {
            QuotaObservation(headers: self, localEpochSeconds: localEpochSeconds, dates: dates)
        }
    }

    /// The last `Date` header parsed and its value, shared by the readers of one run.
    public final class DateHeaderMemo: Sendable {
        private let last = Mutex<(text: String, seconds: Double?)?>(nil)

        public init() {}

        func epochSeconds(_ value: String) -> Double? {
            last.withLock { last in
                if let last, last.text == value { return last.seconds }
                let seconds = HTTPDateParser.epochSeconds(rfc1123: value)
                last = (value, seconds)
                return seconds
            }
        }
    }

    private init(headers: HeaderReader, localEpochSeconds: Double, dates: DateHeaderMemo?) {
        self.init()
        self.limit = headers.limit.flatMap { Int($0) }.flatMap { (0...Self.largestCount).contains($0) ? $0 : nil }
        self.used = headers.used.flatMap { Int($0) }.flatMap { (0...Self.largestCount).contains($0) ? $0 : nil }
        if let interval = headers.interval.flatMap({ Int($0) }), interval > 0,
            let unit = headers.timeUnit.flatMap(QuotaTimeUnit.init(header:))
        {
            // Int64 seconds: `Duration * interval` traps on overflow (a minute times 3e18 passes Int128).
            let (seconds, overflow) = unit.seconds.multipliedReportingOverflow(by: Int64(interval))
            self.window = .seconds(overflow ? Self.longest : min(seconds, Self.longest))
        }
        self.serverEpochSeconds = headers.date.flatMap { date in dates.map { $0.epochSeconds(date) } ?? HTTPDateParser.epochSeconds(rfc1123: date) }
        let serverNow = serverEpochSeconds ?? localEpochSeconds
        if let reset = headers.resetUTC.flatMap(HTTPDateParser.epochSeconds(resetHeader:)) {
            self.resetIn = .seconds(min(max(0, reset - serverNow), Double(Self.longest)))
        }
        if let retry = headers.retryAfter {
            if let seconds = Int(retry), seconds >= 0 {
                self.retryAfter = .seconds(min(Int64(seconds), Self.longest))
            } else if let date = HTTPDateParser.epochSeconds(rfc1123: retry) {
                self.retryAfter = .seconds(min(max(0, date - serverNow), Double(Self.longest)))
            }
        }
    }

    /// The headers read, by their names.
    private enum HeaderName: String, CaseIterable {
        case limit = "quota-limit", used = "quota-used", interval = "quota-interval", timeUnit = "quota-time-unit"
        case resetUTC = "quota-reset-utc", retryAfter = "retry-after", date

        /// The header `name` is, compared without regard to ASCII letter case (and without a lower-cased copy).
        init?(matching name: String) {
            let bytes = name.utf8
            let lowercased = { (byte: UInt8) in byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte }
            guard let header = Self.allCases.first(where: { header in
                header.rawValue.utf8.count == bytes.count && bytes.elementsEqual(header.rawValue.utf8) { lowercased($0) == $1 }
            }) else { return nil }
            self = header
        }
    }
}

/// The units `quota-time-unit` takes.
package enum QuotaTimeUnit: Sendable {
    case second, minute, hour, day, week, month

    package init?(header: String) {
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

    /// The unit in seconds. A month counts as 30 days: the only use is pacing, where an estimate is enough.
    package var seconds: Int64 {
        switch self {
        case .second: 1
        case .minute: 60
        case .hour: 3_600
        case .day: 86_400
        case .week: 604_800
        case .month: 2_592_000
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
