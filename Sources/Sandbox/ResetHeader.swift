import Foundation

/// Formats `quota-reset-UTC` in each of the forms the runner must understand.
enum ResetHeader {
    static func format(_ epochSeconds: Double, as format: SandboxConfiguration.ResetFormat) -> String {
        let date = Date(timeIntervalSince1970: epochSeconds)
        switch format {
        case .epochMilliseconds:
            return String(Int64((epochSeconds * 1000).rounded(.up)))
        case .epochSeconds:
            return String(Int64(epochSeconds.rounded(.up)))
        case .iso8601:
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        case .rfc1123:
            let rounded = Date(timeIntervalSince1970: epochSeconds.rounded(.up))
            return rounded.formatted(Date.VerbatimFormatStyle(format: "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) GMT", locale: Locale(identifier: "en_US_POSIX"), timeZone: TimeZone(identifier: "GMT")!, calendar: Calendar(identifier: .gregorian)))
        case .notAvailable:
            return "n/a"
        }
    }
}
