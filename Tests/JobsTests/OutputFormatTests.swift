import Testing

@testable import Jobs

@Suite struct OutputFormatTests {
    @Test func quotesOnlyWhatNeedsIt() {
        #expect(CSVLine.format(["a", "b c", ""]) == "a,b c,")
        #expect(CSVLine.format(["x,y", "say \"hi\"", "two\nlines", " edge"]) == "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",\" edge\"")
    }

    /// OWASP's CSV injection advice: text a spreadsheet would run gets a leading `'`; numbers never change.
    @Test(arguments: [
        ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        ("@SUM(1)", "'@SUM(1)"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("\tx", "'\tx"), ("\rx", "\"'\rx\""),
        ("-", "'-"), ("+", "'+"), ("-.5", "'-.5"), ("+1.", "'+1."),
        ("+31612345678", "+31612345678"), ("-5", "-5"), ("+2.5", "+2.5"), ("31612345678", "31612345678"),
        ("KPN", "KPN"), ("T-Mobile", "T-Mobile"), ("a=b", "a=b"), ("", ""),
    ])
    func formulaTextIsEscapedAndNumbersAreNot(cell: String, written: String) {
        #expect(CSVLine.format([cell], formulas: .escape) == written)
        #expect(CSVLine.format([cell], formulas: .keep) == CSVLine.format([cell]))
        #expect(!CSVLine.format(["=1+1"], formulas: .keep).hasPrefix("'"))
    }

    @Test(arguments: [
        (429, "{}", AnswerClass.rateLimited),
        (500, #"{"fault":{"faultstring":"Rate limit quota violation","detail":{"errorcode":"policies.ratelimit.QuotaViolation"}}}"#, .rateLimited),
        (403, #"{"fault":{"detail":{"errorcode":"policies.ratelimit.SpikeArrestViolation"}}}"#, .rateLimited),
        (401, #"{"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"oauth.v2.AccessTokenExpired"}}}"#, .tokenExpired),
        (400, #"{"fault":{"detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}"#, .tokenRejected),
        (401, "", .tokenRejected),
        (500, "", .transient), (502, "<html>", .transient), (503, "{}", .transient), (504, "", .transient),
        (404, #"{"error_code": 404, "message": "Not Found"}"#, .rejected), (400, "", .rejected), (302, "", .rejected),
        (200, "{}", .success), (201, "", .success),
    ])
    func classifiesGatewayAnswers(status: Int, body: String, expected: AnswerClass) {
        #expect(GatewayAnswer.classify(status: status, body: Array(body.utf8)) == expected)
    }

    @Test func describesErrorsWithTheServiceMessage() {
        #expect(GatewayAnswer.describe(status: 404, body: Array(#"{"error_code": 404, "message": "Not Found"}"#.utf8)) == "HTTP 404: Not Found")
        #expect(GatewayAnswer.describe(status: 400, body: Array(#"{"error": {"message": "bad id"}}"#.utf8)) == "HTTP 400: bad id")
        #expect(GatewayAnswer.describe(status: 502, body: Array("<html>".utf8)) == "HTTP 502")
    }
}
