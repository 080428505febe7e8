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

    /// Now as an ISO-8601 UTC timestamp with milliseconds.
    public var iso8601: String {
        Date(timeIntervalSince1970: epochSeconds).formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
