import Foundation

/// The local wall clock, in seconds since 1970. Injected so tests (and `--clock-offset`) can move it.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Double

    public init(_ read: @escaping @Sendable () -> Double) {
        self.read = read
    }

    /// The system clock, shifted by `offset` seconds.
    public static func system(offset: Double = 0) -> WallClock {
        WallClock { Date().timeIntervalSince1970 + offset }
    }

    public var epochSeconds: Double { read() }

    /// Now as an ISO-8601 UTC timestamp with milliseconds (`2026-12-02T09:16:24.123Z`).
    public var iso8601: String { Self.iso8601(epochSeconds: epochSeconds) }

    /// `epochSeconds` as an ISO-8601 UTC timestamp with milliseconds. Written out by hand: every request and
    /// every JSON log line is stamped, and Foundation's format style cost more than the rest of the stamping.
    package static func iso8601(epochSeconds: Double) -> String {
        let (quotient, remainder) = Int64((epochSeconds * 1000).rounded(.down)).quotientAndRemainder(dividingBy: 1000)
        var seconds = time_t(remainder < 0 ? quotient - 1 : quotient)
        let millis = Int(remainder < 0 ? remainder + 1000 : remainder)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "1970-01-01T00:00:00.000Z" }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func append(_ value: Int, digits: Int) {
            var divisor = 1
            for _ in 1..<digits { divisor *= 10 }
            var value = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                value %= divisor
                divisor /= 10
            }
        }
        append(Int(parts.tm_year) + 1900, digits: 4)
        bytes.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mon) + 1, digits: 2)
        bytes.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mday), digits: 2)
        bytes.append(UInt8(ascii: "T"))
        append(Int(parts.tm_hour), digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(Int(parts.tm_min), digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(Int(parts.tm_sec), digits: 2)
        bytes.append(UInt8(ascii: "."))
        append(millis, digits: 3)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
