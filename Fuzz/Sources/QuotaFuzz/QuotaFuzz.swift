import FuzzSupport

/// Fuzzes the quota header parser: `QuotaObservation(headers:localEpochSeconds:)` and `HTTPDateParser`
/// (Sources/RateLimiter, symlinked into this target with the rest of that module, which has no dependencies).
///
/// Input: header lines, `name: value` (split at the first colon; a line without one is a name with an empty
/// value; a trailing CR is dropped). A first line `@<seconds>` sets the local clock (default 2025-11-23 17:00 UTC).
/// Besides never crashing, it checks:
/// - counts are non-negative, durations are non-negative, the window is positive, the server time is finite
///   and inside years 1...9999;
/// - every duration stays in the range the limiter and the clocks can take: adding it to a `ContinuousClock`
///   deadline must not overflow (`ContinuousClock.sleep(until:)` traps when the deadline's seconds overflow
///   Int64), and APIClient's `Int(resetIn.seconds.rounded(.up))` must not overflow;
/// - header names match in any ASCII letter case, and the order of distinct headers does not matter;
/// - the limiter state machine (LimiterState, with `wait` and with `stop(max_wait)`) takes the observation, as
///   an answer and as a rate limit, and what it decides stays in range too;
/// - for every value, the three date parsers answer finite times in years 1...9999, and a time the RFC 1123 or
///   ISO-8601 parser answers formats back (with an independent civil-from-days) to a date that parses to it.
@main
struct QuotaFuzz {
    static func main() {
        runFuzzer { input in
            fuzz(String(decoding: input, as: UTF8.self))
        }
    }

    static let defaultLocal = 1_763_917_200.0
    /// Years 1 and 9999, with a day's slack for offsets.
    static let earliest = -62_135_596_800.0 - 86_400
    static let latest = 253_402_300_800.0 + 86_400
    /// The longest duration the clock arithmetic downstream takes: ContinuousClock deadlines are its `now` (the
    /// uptime) plus the duration plus the reset margin, and `sleep(until:)` converts the deadline's seconds to
    /// Int64. 2^62 s leaves 2^62 s (about 10^11 years) of uptime and margins.
    static let longest = Duration.seconds(Int64(1) << 62)

    static func fuzz(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        var local = defaultLocal
        if let first = lines.first, first.hasPrefix("@") {
            lines.removeFirst()
            // Production passes the wall clock: finite and not absurd. Other values are not this parser's problem.
            if let value = Double(first.dropFirst()), value.isFinite, abs(value) < 1e12 { local = value }
        }
        let headers: [(name: String, value: String)] = lines.map { line in
            guard let colon = line.firstIndex(of: ":") else { return (String(line), "") }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }

        let observation = QuotaObservation(headers: headers, localEpochSeconds: local)
        checkObservation(observation, headers: headers)

        // Header names in any ASCII letter case.
        let upper = headers.map { (name: asciiUppercased($0.name), value: $0.value) }
        let observationUpper = QuotaObservation(headers: upper, localEpochSeconds: local)
        check(observationUpper == observation, "letter case of names matters: \(observation) vs \(observationUpper) for \(headers)")

        // The order of distinct headers does not matter (a repeated one: the last wins, so order matters there).
        let names = headers.map { asciiLowercased($0.name) }
        if Set(names).count == names.count {
            let reversed = QuotaObservation(headers: headers.reversed(), localEpochSeconds: local)
            check(reversed == observation, "header order matters: \(observation) vs \(reversed) for \(headers)")
        }

        drive(observation)

        for (_, value) in headers.prefix(16) {
            checkDateParsers(value)
        }
    }

    static func checkObservation(_ observation: QuotaObservation, headers: [(name: String, value: String)]) {
        if let limit = observation.limit { check(limit >= 0, "negative limit \(limit) from \(headers)") }
        if let used = observation.used { check(used >= 0, "negative used \(used) from \(headers)") }
        if let window = observation.window {
            check(window > .zero, "window \(window) from \(headers)")
            checkUsable(window, "window", headers)
        }
        if let resetIn = observation.resetIn {
            check(resetIn >= .zero, "negative resetIn \(resetIn) from \(headers)")
            checkUsable(resetIn, "resetIn", headers)
        }
        if let retryAfter = observation.retryAfter {
            check(retryAfter >= .zero, "negative retryAfter \(retryAfter) from \(headers)")
            checkUsable(retryAfter, "retryAfter", headers)
        }
        if let server = observation.serverEpochSeconds {
            check(server.isFinite && server >= earliest && server <= latest, "server time \(server) from \(headers)")
        }
        check(observation.hasQuota == (observation.limit != nil && observation.used != nil), "hasQuota")
    }

    static func checkUsable(_ duration: Duration, _ what: String, _ headers: [(name: String, value: String)]) {
        check(duration <= longest, "\(what) \(duration) is beyond what the clocks can add (ContinuousClock.sleep traps) from \(headers)")
    }

    /// Feeds the observation to the limiter's state machine, as production does after an answer and after a
    /// rate limit, and checks what it decides.
    static func drive(_ observation: QuotaObservation) {
        let configurations = [
            RateLimiterConfiguration(),
            RateLimiterConfiguration(onExhausted: .stop(maxWait: .seconds(60)), maxPerSecond: 5, smooth: true),
        ]
        let now = ContinuousClock.now
        for configuration in configurations {
            var state = LimiterState<ContinuousClock.Instant>(configuration: configuration)
            state.backlog = 1_000
            check(state.decide(at: now, unitRandom: 0.5).isSend, "first request not sent")
            state.recordAnswer(observation, at: now)
            checkDecision(state.decide(at: now, unitRandom: 0.5), now: now)
            state.recordRateLimit(observation, at: now, unitRandom: 0.5)
            let decision = state.decide(at: now, unitRandom: 0.5)
            checkDecision(decision, now: now)
            if case .sleep(let until) = decision {
                // What RateLimiter.acquire does next: sleep, then ask again once the time has come.
                checkDecision(state.decide(at: until, unitRandom: 0.5), now: until)
            }
            checkSnapshot(state)
        }
        // Two requests in flight (concurrency 2) when the answer to one of them arrives.
        var state = LimiterState<ContinuousClock.Instant>(configuration: RateLimiterConfiguration())
        _ = state.decide(at: now, unitRandom: 0.5)
        state.recordAnswer(QuotaObservation(limit: 1_000, used: 0), at: now)
        check(state.decide(at: now, unitRandom: 0.5).isSend && state.decide(at: now, unitRandom: 0.5).isSend, "two sends")
        state.recordAnswer(observation, at: now)
        checkSnapshot(state)
        checkDecision(state.decide(at: now, unitRandom: 0.5), now: now)
        state.recordRateLimit(observation, at: now, unitRandom: 0.5)
        checkSnapshot(state)
    }

    /// The arithmetic RateLimiter.snapshot (`used + inFlight`) and `remaining` (`limit - used - inFlight`) do on
    /// the state: it must not overflow (RateLimiter.swift and LimiterState.swift would trap).
    static func checkSnapshot(_ state: LimiterState<ContinuousClock.Instant>) {
        check(!state.used.addingReportingOverflow(state.inFlight).overflow,
              "RateLimiter.snapshot's used + inFlight overflows: used \(state.used), in flight \(state.inFlight)")
        if let limit = state.limit {
            let (difference, overflow) = limit.subtractingReportingOverflow(state.used)
            check(!overflow && !difference.subtractingReportingOverflow(state.inFlight).overflow,
                  "LimiterState.remaining (limit - used - inFlight) overflows: limit \(limit), used \(state.used), in flight \(state.inFlight)")
        }
    }

    static func checkDecision(_ decision: LimiterDecision<ContinuousClock.Instant>, now: ContinuousClock.Instant) {
        switch decision {
        case .sleep(let until):
            let wait = now.duration(to: until)
            check(wait >= .zero, "sleeps into the past: \(wait)")
            check(wait <= longest, "sleeps \(wait): ContinuousClock.sleep(until:) would trap")
        case .exhausted(let resetIn):
            if let resetIn {
                // APIClient: `Int($0.seconds.rounded(.up))` for the message.
                check(resetIn.seconds.rounded(.up) < 9.2e18, "exhausted resetIn \(resetIn): Int(seconds) in APIClient would trap")
            }
        case .send, .park:
            break
        }
    }

    // MARK: Dates

    static func checkDateParsers(_ value: String) {
        let trimmed = value.trimmingSpaces()
        let reset = HTTPDateParser.epochSeconds(resetHeader: trimmed)
        let rfc = HTTPDateParser.epochSeconds(rfc1123: trimmed)
        let iso = HTTPDateParser.epochSeconds(iso8601: Array(trimmed.utf8))
        for (name, time) in [("resetHeader", reset), ("rfc1123", rfc), ("iso8601", iso)] {
            guard let time else { continue }
            check(time.isFinite, "\(name) answers \(time) for \(String(reflecting: trimmed))")
            if name != "resetHeader" {
                check(time >= earliest && time <= latest, "\(name) answers \(time) for \(String(reflecting: trimmed))")
            } else {
                check(time >= earliest && time <= 1e16, "resetHeader answers \(time) for \(String(reflecting: trimmed))")
            }
        }
        // Round trips only inside years 1...9999: a leap second (:60) or an offset may step outside them.
        func formattable(_ time: Double) -> Bool { (1...9_999).contains(civil(Int(time.rounded(.down))).year) }
        if let rfc, rfc == rfc.rounded(.down), formattable(rfc) {
            let formatted = formatRFC1123(Int(rfc))
            let again = HTTPDateParser.epochSeconds(rfc1123: formatted)
            check(again == rfc, "rfc1123 \(String(reflecting: trimmed)) -> \(rfc) -> \(formatted) -> \(String(describing: again))")
        }
        if let iso, formattable(iso) {
            let whole = iso.rounded(.down)
            let formatted = formatISO8601(Int(whole))
            let again = HTTPDateParser.epochSeconds(iso8601: Array(formatted.utf8))
            check(again == whole, "iso8601 \(String(reflecting: trimmed)) -> \(iso) -> \(formatted) -> \(String(describing: again))")
        }
    }

    /// Civil date from days since 1970-01-01 (Howard Hinnant's civil_from_days), written independently of the
    /// parser's days_from_civil.
    static func civil(_ epochSeconds: Int) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var days = epochSeconds / 86_400
        var rest = epochSeconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, rest / 3_600, rest % 3_600 / 60, rest % 60)
    }

    static func formatRFC1123(_ epochSeconds: Int) -> String {
        let c = civil(epochSeconds)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(pad(c.day, 2)) \(months[c.month - 1]) \(pad(c.year, 4)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) GMT"
    }

    static func formatISO8601(_ epochSeconds: Int) -> String {
        let c = civil(epochSeconds)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))Z"
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    static func asciiUppercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}

extension LimiterDecision {
    var isSend: Bool { if case .send = self { true } else { false } }
}
