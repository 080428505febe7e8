import RateLimiter
import Testing

@Suite struct QuotaObservationTests {
    /// `Date: Sun, 23 Nov 2025 17:00:00 GMT`.
    static let serverNow = 1_763_917_200.0
    static let dateHeader = "Sun, 23 Nov 2025 17:00:00 GMT"

    private func parse(
        _ headers: [(name: String, value: String)],
        localEpochSeconds: Double = serverNow
    ) -> QuotaObservation {
        QuotaObservation(headers: headers, localEpochSeconds: localEpochSeconds)
    }

    private func resetIn(_ value: String) -> Duration? {
        parse([("Date", Self.dateHeader), ("quota-reset-UTC", value)]).resetIn
    }

    @Test(arguments: [
        ("1763917260000", Duration.seconds(60)),  // 13-digit epoch milliseconds
        ("1763917260500", Duration.milliseconds(60_500)),
        ("1763917260", Duration.seconds(60)),  // 10-digit epoch seconds
        ("2025-11-23T17:01:00Z", Duration.seconds(60)),
        ("2025-11-23T17:01:00.250Z", Duration.milliseconds(60_250)),
        ("2025-11-23T18:01:00+01:00", Duration.seconds(60)),
        ("2025-11-23T16:31:00-01:00", Duration.seconds(1_860)),
        ("Sun, 23 Nov 2025 17:01:00 GMT", Duration.seconds(60)),
        (" 1763917320 ", Duration.seconds(120)),  // surrounding spaces
        ("1763917100", Duration.zero),  // already past: clamped to zero
    ])
    func quotaResetIsReadInEveryAcceptedForm(value: String, expected: Duration) {
        #expect(resetIn(value) == expected)
    }

    @Test(arguments: [
        "n/a", "N/A", "", "   ", "soon", "17639172601234567", "2025-11-23", "2025-13-23T17:01:00Z",
        "2025-11-23T17:01:00+0x:00", "Sun, 32 Nov 2025 17:01:00 GMT", "-1763917260", "1763917260.5",
    ])
    func unreadableQuotaResetIsUnknown(value: String) {
        let observation = parse([("Date", Self.dateHeader), ("quota-reset-UTC", value), ("quota-limit", "10")])
        #expect(observation.resetIn == nil)
        #expect(observation.limit == 10)
    }

    /// The per-run memo of `Date` gives what parsing each header gives, and follows the header when it changes.
    @Test func theRememberedDateHeaderFollowsTheHeader() {
        let dates = QuotaObservation.DateHeaderMemo()
        func observe(_ date: String) -> Double? {
            var reader = QuotaObservation.HeaderReader()
            reader.read(name: "Date", value: date)
            return reader.observation(localEpochSeconds: 0, dates: dates).serverEpochSeconds
        }
        #expect(observe(Self.dateHeader) == Self.serverNow)
        #expect(observe(Self.dateHeader) == Self.serverNow)
        #expect(observe("Sun, 23 Nov 2025 17:00:01 GMT") == Self.serverNow + 1)
        #expect(observe("not a date") == nil)
        #expect(observe(Self.dateHeader) == Self.serverNow)
    }

    @Test func headerNamesMatchInAnyLetterCase() {
        let observation = parse([
            ("QUOTA-LIMIT", "10"),
            ("Quota-Used", " 4 "),
            ("quota-interval", "1"),
            ("Quota-Time-Unit", "Minute"),
            ("quota-reset-utc", "1763917230000"),
            ("RETRY-AFTER", "7"),
            ("date", Self.dateHeader),
        ])
        #expect(
            observation
                == QuotaObservation(
                    limit: 10,
                    used: 4,
                    window: .seconds(60),
                    resetIn: .seconds(30),
                    retryAfter: .seconds(7),
                    serverEpochSeconds: 1_763_917_200
                )
        )
        #expect(observation.hasQuota)
    }

    @Test func unrelatedAndMalformedHeadersLeaveFieldsEmpty() {
        let observation = parse([
            ("quota-limit", "ten"), ("quota-used", "-1"), ("sunset", "n/a"), ("api-version", "1"),
        ])
        #expect(observation == QuotaObservation())
        #expect(!observation.hasQuota)
    }

    @Test(arguments: [
        ("second", 1, 1), ("seconds", 30, 30), ("minute", 1, 60), ("minute", 15, 900), ("hour", 1, 3_600),
        ("HOUR", 6, 21_600), ("day", 1, 86_400), ("days", 7, 604_800), ("week", 1, 604_800), ("week", 2, 1_209_600),
        ("month", 1, 2_592_000), ("Month", 3, 7_776_000),
    ])
    func windowIsIntervalTimesTimeUnit(unit: String, interval: Int, seconds: Int64) {
        let observation = parse([("quota-interval", String(interval)), ("quota-time-unit", unit)])
        #expect(observation.window == .seconds(seconds))
    }

    @Test(arguments: [("fortnight", "1"), ("minute", "0"), ("minute", "-5"), ("minute", "n/a"), ("", "1")])
    func unknownUnitOrIntervalLeavesWindowUnknown(unit: String, interval: String) {
        #expect(parse([("quota-interval", interval), ("quota-time-unit", unit)]).window == nil)
    }

    @Test func windowNeedsBothIntervalAndUnit() {
        #expect(parse([("quota-interval", "1")]).window == nil)
        #expect(parse([("quota-time-unit", "day")]).window == nil)
    }

    @Test(arguments: [("0", Duration.zero), ("1", Duration.seconds(1)), ("120", Duration.seconds(120))])
    func retryAfterInSeconds(value: String, expected: Duration) {
        #expect(parse([("Retry-After", value)]).retryAfter == expected)
    }

    @Test func retryAfterAsHTTPDateIsMeasuredFromTheDateHeader() {
        let observation = parse(
            [("Date", Self.dateHeader), ("Retry-After", "Sun, 23 Nov 2025 17:00:45 GMT")],
            localEpochSeconds: Self.serverNow + 1_000
        )
        #expect(observation.retryAfter == .seconds(45))
    }

    @Test func retryAfterDateInThePastIsZero() {
        let observation = parse([("Date", Self.dateHeader), ("Retry-After", "Sun, 23 Nov 2025 16:59:00 GMT")])
        #expect(observation.retryAfter == .zero)
    }

    @Test(arguments: ["-5", "1.5", "later", ""])
    func unreadableRetryAfterIsIgnored(value: String) {
        #expect(parse([("Date", Self.dateHeader), ("Retry-After", value)]).retryAfter == nil)
    }

    @Test func resetIsMeasuredAgainstTheDateHeaderNotTheLocalClock() {
        let headers: [(name: String, value: String)] = [
            ("Date", "Sun, 23 Nov 2025 17:10:00 GMT"), ("quota-reset-UTC", "2025-11-23T17:11:30Z"),
        ]
        #expect(parse(headers, localEpochSeconds: Self.serverNow).resetIn == .seconds(90))
    }

    @Test func withoutDateHeaderResetIsMeasuredAgainstTheLocalClock() {
        let observation = parse([("quota-reset-UTC", "1763917260000")], localEpochSeconds: Self.serverNow + 20)
        #expect(observation.resetIn == .seconds(40))
    }

    @Test func unreadableDateHeaderFallsBackToTheLocalClock() {
        let observation = parse(
            [("Date", "yesterday"), ("quota-reset-UTC", "1763917260000")],
            localEpochSeconds: Self.serverNow + 20
        )
        #expect(observation.resetIn == .seconds(40))
    }

    @Test(arguments: [-300.0, -1.0, 0.0, 1.0, 300.0])
    func skewedClientClockGivesTheSameResetWhenDateIsPresent(skewSeconds: Double) {
        let headers: [(name: String, value: String)] = [
            ("quota-limit", "10"), ("quota-used", "3"), ("Date", Self.dateHeader),
            ("quota-reset-UTC", "1763917260000"), ("Retry-After", "Sun, 23 Nov 2025 17:00:10 GMT"),
        ]
        let skewed = parse(headers, localEpochSeconds: Self.serverNow + skewSeconds)
        #expect(skewed.resetIn == .seconds(60))
        #expect(skewed.retryAfter == .seconds(10))
        #expect(skewed == parse(headers, localEpochSeconds: Self.serverNow))
    }

    @Test func epochSecondsOfDateHeader() {
        #expect(parse([("Date", " \(Self.dateHeader) ")], localEpochSeconds: 0).serverEpochSeconds == Self.serverNow)
        #expect(parse([("Date", "n/a")], localEpochSeconds: 0).serverEpochSeconds == nil)
    }
}
