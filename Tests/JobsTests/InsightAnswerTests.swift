import Testing

@testable import Jobs

@Suite struct InsightAnswerTests {
    func answer(_ json: String) -> InsightAnswer? { try? InsightAnswer(body: Array(json.utf8)) }

    func problem(_ json: String) -> InsightAnswer.Problem? {
        do {
            _ = try InsightAnswer(body: Array(json.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func readsTheSeedsForm() throws {
        let insight = try #require(answer(#"{"operator_lookup":{"operatorName":"KPN","regionCode":"NL","mcc":"204","mnc":"08"},"device_match":{"polling_uri":"/polling?session=ab"}}"#))
        #expect([insight.operatorName, insight.regionCode, insight.mcc, insight.mnc] == ["KPN", "NL", "204", "08"])
        #expect(insight.polling == .uri("/polling?session=ab"))
    }

    @Test func numbersAndNullsAreReadAsTextWhereTheDocumentAllowsThem() throws {
        let insight = try #require(answer(#"{"operator_lookup":{"operatorName":"T-Mobile","regionCode":null,"mcc":204,"mnc":2.5},"device_match":{"polling_id":"0a1F"}}"#))
        #expect([insight.operatorName, insight.regionCode, insight.mcc, insight.mnc] == ["T-Mobile", "", "204", "2.5"])
        #expect(insight.polling == .id("0a1F"))
        let sparse = try #require(answer(#"{"operator_lookup":{},"device_match":null}"#))
        #expect(sparse.operatorName == "" && sparse.mcc == "" && sparse.polling == nil)
        #expect(answer(#"{"operator_lookup":{},"device_match":{"polling_id":"not hex!"}}"#)?.polling == nil)
    }

    /// The README promises that an answer with the wrong types fails its row: every field read is checked.
    @Test(arguments: [
        (#"{"operator_lookup":{"operatorName":{"name":"KPN"}}}"#, "operator_lookup.operatorName", "an object", "text"),
        (#"{"operator_lookup":{"regionCode":["NL"]}}"#, "operator_lookup.regionCode", "a list", "text"),
        (#"{"operator_lookup":{"mcc":true}}"#, "operator_lookup.mcc", "true or false", "text or a number"),
        (#"{"operator_lookup":{"mnc":{}}}"#, "operator_lookup.mnc", "an object", "text or a number"),
        (#"{"operator_lookup":{"operatorName":7}}"#, "operator_lookup.operatorName", "a number", "text"),
        (#"{"operator_lookup":{},"device_match":7}"#, "device_match", "a number", "an object"),
        (#"{"operator_lookup":{},"device_match":{"polling_uri":["x"]}}"#, "device_match.polling_uri", "a list", "text"),
    ])
    func aFieldOfTheWrongTypeNamesItself(json: String, field: String, found: String, expected: String) {
        #expect(problem(json) == .wrongType(AnswerShapeError(field: field, found: found, expected: expected)))
    }

    @Test func withoutTheLookupObjectItIsNotTheDocumentedAnswer() {
        #expect(problem(#"{"operator_lookup":["KPN"],"device_match":7}"#) == .notTheDocumentedJSON)
        #expect(problem(#"{"device_match":{}}"#) == .notTheDocumentedJSON)
        #expect(problem(#"{"operator_lookup":{"operatorName":"KPN""#) == .notTheDocumentedJSON)
        #expect(problem("[]") == .notTheDocumentedJSON)
    }

    @Test func pollingAnswersAreCheckedToo() throws {
        func match(_ json: String) throws -> String? { try PollingAnswer.deviceMatch(in: Array(json.utf8)) }
        #expect(try match(#"{"device_match":"available"}"#) == "AVAILABLE")
        #expect(try match(#"{"device_match":false}"#) == "UNAVAILABLE")
        #expect(try match(#"{"device_match":null,"errors":[{"device_match":"unavailable"}]}"#) == "UNAVAILABLE")
        #expect(try match(#"{"device_match":null,"errors":[]}"#) == nil)
        #expect(throws: InsightAnswer.Problem.wrongType(AnswerShapeError(field: "device_match", found: "a number", expected: "text or true/false"))) {
            try match(#"{"device_match":1}"#)
        }
        #expect(throws: InsightAnswer.Problem.wrongType(AnswerShapeError(field: "errors[0]", found: "text", expected: "an object"))) {
            try match(#"{"errors":["x"]}"#)
        }
        #expect(throws: InsightAnswer.Problem.notTheDocumentedJSON) { try match("not json") }
    }
}
