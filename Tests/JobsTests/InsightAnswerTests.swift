import Testing

@testable import Jobs

@Suite struct InsightAnswerTests {
    func answer(_ json: String) -> InsightAnswer? { InsightAnswer(body: Array(json.utf8)) }

    @Test func readsTheSeedsForm() throws {
        let insight = try #require(answer(#"{"operator_lookup":{"operatorName":"KPN","regionCode":"NL","mcc":"204","mnc":"08"},"device_match":{"polling_uri":"/polling?session=ab"}}"#))
        #expect([insight.operatorName, insight.regionCode, insight.mcc, insight.mnc] == ["KPN", "NL", "204", "08"])
        #expect(insight.polling == .uri("/polling?session=ab"))
    }

    @Test func numbersNullsAndOtherTypesAreReadAsText() throws {
        let insight = try #require(answer(#"{"operator_lookup":{"operatorName":"T-Mobile","regionCode":null,"mcc":204,"mnc":2.5},"device_match":{"polling_id":"0a1F"}}"#))
        #expect([insight.operatorName, insight.regionCode, insight.mcc, insight.mnc] == ["T-Mobile", "", "204", "2.5"])
        #expect(insight.polling == .id("0a1F"))
        let sparse = try #require(answer(#"{"operator_lookup":{"operatorName":true},"device_match":7}"#))
        #expect(sparse.operatorName == "" && sparse.mcc == "" && sparse.polling == nil)
        #expect(answer(#"{"operator_lookup":{},"device_match":{"polling_id":"not hex!"}}"#)?.polling == nil)
    }

    @Test func withoutTheLookupObjectItIsNotTheDocumentedAnswer() {
        #expect(answer(#"{"operator_lookup":["KPN"],"device_match":7}"#) == nil)
        #expect(answer(#"{"device_match":{}}"#) == nil)
        #expect(answer(#"{"operator_lookup":{"operatorName":"KPN""#) == nil)
        #expect(answer("[]") == nil)
    }
}
