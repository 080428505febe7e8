package import Foundation

/// How a quota reset is shown to a person: the UTC time and the wait, `at 21:50:12Z, in 1h00m02s`.
package enum ResetText {
    /// `at 21:50:12Z, in 1h00m02s` for a reset `seconds` after `now` (the date is added when it is not today's).
    package static func describe(in seconds: Double, from now: Date = Date()) -> String {
        let reset = now.addingTimeInterval(max(seconds, 0).rounded(.up))
        let calendar = Calendar(identifier: .gregorian)
        var utc = calendar
        utc.timeZone = TimeZone(identifier: "UTC")!
        let parts = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: reset)
        let time = String(format: "%02d:%02d:%02dZ", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
        let day = utc.isDate(reset, inSameDayAs: now) ? "" : String(format: "%04d-%02d-%02d ", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        return "at \(day)\(time), in \(duration(seconds))"
    }

    /// `1h00m02s`, `3m05s`, `42s`: whole seconds, rounded up.
    package static func duration(_ seconds: Double) -> String {
        let total = Int(max(seconds, 0).rounded(.up))
        if total >= 3_600 { return String(format: "%dh%02dm%02ds", total / 3_600, total % 3_600 / 60, total % 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return "\(total)s"
    }
}
