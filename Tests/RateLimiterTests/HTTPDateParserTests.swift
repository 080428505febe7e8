import Testing

@testable import RateLimiter

@Suite struct HTTPDateParserTests {
    @Test(arguments: [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777.0),
        ("06 Nov 1994 08:49:37 GMT", 784_111_777.0),  // no weekday
        ("Sun, 6 nov 1994 08:49:37 UTC", 784_111_777.0),
        ("Sun, 06 Nov 1994 08:49:37 +0000", 784_111_777.0),
        ("Sun, 06 Nov 1994 08:49:37", 784_111_777.0),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("Tue, 29 Feb 2028 23:59:59 GMT", 1_835_481_599.0),
    ])
    func rfc1123(value: String, expected: Double) {
        #expect(HTTPDateParser.epochSeconds(rfc1123: value) == expected)
    }

    @Test(arguments: [
        "", "Sun, 06 Nov 1994", "Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 CET",
        "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
    ])
    func rfc1123RejectsOtherForms(value: String) {
        #expect(HTTPDateParser.epochSeconds(rfc1123: value) == nil)
    }

    @Test(arguments: [
        ("1994-11-06T08:49:37Z", 784_111_777.0),
        ("1994-11-06t08:49:37z", 784_111_777.0),
        ("1994-11-06 08:49:37", 784_111_777.0),  // no zone: UTC
        ("1994-11-06T08:49:37.5Z", 784_111_777.5),
        ("1994-11-06T08:49:37,25Z", 784_111_777.25),
        ("1994-11-06T09:49:37+01:00", 784_111_777.0),
        ("1994-11-06T09:49:37+0100", 784_111_777.0),
        ("1994-11-06T03:19:37-05:30", 784_111_777.0),
    ])
    func iso8601(value: String, expected: Double) {
        #expect(HTTPDateParser.epochSeconds(iso8601: Array(value.utf8)) == expected)
    }

    @Test(arguments: [
        "1994-11-06T08:49Z", "1994-11-06T08:49:37.Z", "1994-11-06T08:49:37Q", "1994-11-06T08:49:37Z!",
        "1994-00-06T08:49:37Z", "1994-11-06T08:49:37+01", "94-11-06T08:49:37Z",
    ])
    func iso8601RejectsMalformedValues(value: String) {
        #expect(HTTPDateParser.epochSeconds(iso8601: Array(value.utf8)) == nil)
    }

    @Test(arguments: [
        ("1763917260000", 1_763_917_260.0), ("1763917260", 1_763_917_260.0), ("2025-11-23T17:01:00Z", 1_763_917_260.0),
        ("Sun, 23 Nov 2025 17:01:00 GMT", 1_763_917_260.0),
    ])
    func resetHeaderForms(value: String, expected: Double) {
        #expect(HTTPDateParser.epochSeconds(resetHeader: value) == expected)
    }
}
