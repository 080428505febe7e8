import FuzzSupport

/// Fuzzes `InsightAnswer(body:)` (Sources/Jobs/Kinds/NumberVerify/InsightAnswer.swift), read on every Number Verify
/// row, and the `JSONValue` reader under it. Besides never crashing, it checks that the same bytes always give the
/// same answer, that a polling id is hex, and that a wrong-type refusal names its field under the document's paths.
@main
struct InsightsAnswerFuzz {
    static func main() {
        runFuzzer { input in
            let body = Array(input)
            let first = Result { () throws(InsightAnswer.Problem) in try InsightAnswer(body: body) }
            let again = Result { () throws(InsightAnswer.Problem) in try InsightAnswer(body: body) }
            switch (first, again) {
            case (.success(let a), .success(let b)):
                check([a.operatorName, a.regionCode, a.mcc, a.mnc] == [b.operatorName, b.regionCode, b.mcc, b.mnc] && a.polling == b.polling, "not deterministic")
                if case .id(let id)? = a.polling { check(!id.isEmpty && id.allSatisfy(\.isHexDigit), "polling id \(id)") }
            case (.failure(let a), .failure(let b)):
                check(a == b, "not deterministic: \(a) vs \(b)")
                if case .wrongType(let shape) = a {
                    check(shape.field.hasPrefix("operator_lookup.") || shape.field.hasPrefix("device_match"), "field \(shape.field)")
                }
            default:
                check(false, "accepted once and refused once")
            }
        }
    }
}
