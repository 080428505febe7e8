import FuzzSupport

/// Fuzzes `TokenAnswer(body:)` (Sources/Jobs/Transport/TokenAnswer.swift): the token endpoint's answer. Besides never
/// crashing (an `expires_in` of "inf", 1e300 or "nan" once trapped a conversion), it checks that an accepted answer
/// has a token and a finite lifetime within 1 s ... 366 days, and that a refusal names a field with its types.
@main
struct TokenAnswerFuzz {
    static func main() {
        runFuzzer { input in
            let body = Array(input)
            do throws(ServiceError) {
                let answer = try TokenAnswer(body: body)
                check(!answer.token.isEmpty, "accepted without a token")
                check(answer.lifetimeSeconds.isFinite && TokenAnswer.lifetimes.contains(answer.lifetimeSeconds), "lifetime \(answer.lifetimeSeconds)")
                // What the provider does with it: Duration arithmetic must not trap.
                let lifetime = Duration.seconds(answer.lifetimeSeconds)
                _ = lifetime - min(.seconds(60), max(lifetime / 10, min(.seconds(5), lifetime / 2)))
            } catch .tokenAnswerWrongType(let shape) {
                check(!shape.field.isEmpty && !shape.found.isEmpty && !shape.expected.isEmpty, "\(shape)")
            } catch {}
        }
    }
}
