import Foundation
import Testing

@testable import Jobs

/// The JSON reader of the per-row answers: strict, whole-document, and in agreement with Foundation.
@Suite struct JSONValueTests {
    @Test func readsEveryKindOfValue() throws {
        let text = #"{"a": [1, -2.5e3, 0], "b": {"c": "d\u00e9\ud83d\ude00\n\"", "e": true, "f": false, "g": null}, "h": ""}"#
        let value = try #require(JSONValue(parsing: Array(text.utf8)))
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .number("0")]))
        #expect(value["b"]?["c"]?.string == "dé😀\n\"")
        #expect(value["b"]?["e"] == .bool(true))
        #expect(value["b"]?["f"] == .bool(false))
        #expect(value["b"]?["g"] == .null)
        #expect(value["h"]?.string == "")
        #expect(value["a"]?[1]?.text == "-2.5e3")
        #expect(value["a"]?[3] == nil)
        #expect(value["missing"] == nil)
    }

    @Test func refusesWhatIsNotJSON() {
        let invalid = [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "1e", "tru", "nul",
            "\"unterminated", "\"bad \\x escape\"", "\"\\ud800\"", "\"\\udc00\"", "\"tab\tinside\"", "{} {}", "[1] x",
            "\"\u{7F}\"".replacingOccurrences(of: "\u{7F}", with: "\u{01}"),
        ]
        for text in invalid {
            #expect(JSONValue(parsing: Array(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONValue(parsing: [0x22, 0xFF, 0x22]) == nil, "invalid UTF-8")
        #expect(JSONValue(parsing: Array(String(repeating: "[", count: 65).utf8) + Array(String(repeating: "]", count: 65).utf8)) == nil, "too deep")
        #expect(JSONValue(parsing: Array(String(repeating: "[", count: 60).utf8) + Array(String(repeating: "]", count: 60).utf8)) != nil)
    }

    /// Agrees with Foundation on every string of a sample of generated documents.
    @Test func agreesWithFoundationOnStrings() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "é", "😀", "\\n", "\\\"", "\\\\", "\\/", "\\u0041", "\\ud83d\\ude00", " ", "\\t", "\\u00e9"]
        for _ in 0..<500 {
            let body = (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            let document = "{\"k\":\"\(body)\"}"
            let expected = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: String]
            #expect(JSONValue(parsing: Array(document.utf8))?["k"]?.string == expected?["k"], "\(document)")
        }
    }
}
