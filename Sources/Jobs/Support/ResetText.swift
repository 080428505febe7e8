package import Foundation

/// How a quota reset is shown to a person: the UTC time and the wait, `at 21:50:12Z, in 1h00m02s`.
package enum ResetText {
    /// `at 21:50:12Z, in 1h00m02s` for a reset `seconds` after `now` (the date is added when it is not today's).
    package static func describe(in seconds: Double, from now: Date = Date()) -> String {
        // `2026-12-06T21:50:12.000Z`: the time, and the date when it is not today's.
        let reset = WallClock.iso8601(epochSeconds: now.timeIntervalSince1970 + max(seconds, 0).rounded(.up))
        let today = WallClock.iso8601(epochSeconds: now.timeIntervalSince1970)
        let day = reset.prefix(10) == today.prefix(10) ? "" : reset.prefix(10) + " "
        return "at \(day)\(reset.dropFirst(11).prefix(8))Z, in \(duration(seconds))"
    }

    /// `1h00m02s`, `3m05s`, `42s`: whole seconds, rounded up.
    package static func duration(_ seconds: Double) -> String {
        let total = Int(max(seconds, 0).rounded(.up))
        if total >= 3_600 { return String(format: "%dh%02dm%02ds", total / 3_600, total % 3_600 / 60, total % 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return "\(total)s"
    }
}
