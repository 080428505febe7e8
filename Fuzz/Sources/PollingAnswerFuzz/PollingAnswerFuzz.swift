import FuzzSupport

/// Fuzzes `PollingAnswer.deviceMatch(in:)` (Sources/Jobs/Kinds/NumberVerify/InsightAnswer.swift), read on every
/// poll of a device match. Besides never crashing, it checks that a match is non-empty upper-case text and that a
/// wrong-type refusal names `device_match` or `errors`.
@main
struct PollingAnswerFuzz {
    static func main() {
        runFuzzer { input in
            do throws(InsightAnswer.Problem) {
                if let match = try PollingAnswer.deviceMatch(in: Array(input)) {
                    check(!match.isEmpty && match == match.uppercased(), "match \(match)")
                }
            } catch .wrongType(let shape) {
                check(shape.field.hasPrefix("device_match") || shape.field.hasPrefix("errors"), "field \(shape.field)")
            } catch {}
        }
    }
}
