import Testing

@testable import Jobs

/// ``RequestAttempt``'s rules one by one, without a client: each event and the step it answers.
@Suite struct RequestAttemptTests {
    private func attempt(idempotent: Bool = true, maxAttempts: Int = 3) -> RequestAttempt {
        RequestAttempt(isIdempotent: idempotent, maxAttempts: maxAttempts)
    }

    private func answered(_ attempt: inout RequestAttempt, _ answerClass: AnswerClass, status: Int = 200, canRenewToken: Bool = true) -> RequestAttempt.Step {
        attempt.answered(answerClass, status: status, canRenewToken: canRenewToken) { "HTTP \(status)" }
    }

    @Test func aSuccessOrARejectionSettlesTheRequestAndTellsTheBudgetItSucceeded() {
        for answerClass in [AnswerClass.success, .rejected] {
            var request = attempt()
            #expect(answered(&request, answerClass) == .init(action: .settle(attempts: 1), attemptFailed: false))
        }
    }

    @Test func aRateLimitSendsAgainWithoutUsingAnAttemptOrTheBudget() {
        var request = attempt(maxAttempts: 1)
        for _ in 0..<10 {
            #expect(answered(&request, .rateLimited, status: 429) == .init(action: .sendAgainAfterRateLimit, attemptFailed: nil))
        }
        #expect(answered(&request, .success) == .init(action: .settle(attempts: 1), attemptFailed: false))
    }

    @Test func aTransientFailureBacksOffUntilTheAttemptsRunOut() {
        var request = attempt(maxAttempts: 3)
        #expect(answered(&request, .transient, status: 502) == .init(action: .backOffAndSendAgain(failures: 1, lastFailure: "HTTP 502"), attemptFailed: true))
        let refused = request.connectionFailed("refused")
        #expect(refused == .init(action: .backOffAndSendAgain(failures: 2, lastFailure: "refused"), attemptFailed: true))
        let timedOut = request.noAnswer("timed out", mayHaveArrived: true)
        #expect(timedOut == .init(action: .fail(.gaveUp(lastFailure: "timed out", attempts: 3)), attemptFailed: true))
    }

    @Test func aRequestThatIsNotIdempotentIsNotSentAgainAfterItMayHaveArrived() {
        var transient = attempt(idempotent: false)
        let failed = answered(&transient, .transient, status: 500)
        #expect(failed.attemptFailed == true)
        guard case .fail(.ambiguous(let message, attempts: 1)) = failed.action else {
            Issue.record("a 500 may have been acted on: \(failed)")
            return
        }
        #expect(message.hasPrefix("HTTP 500, after which the service may or may not have acted"))

        var lost = attempt(idempotent: false)
        let reset = lost.noAnswer("reset", mayHaveArrived: true)
        #expect(reset.action == .fail(.ambiguous("reset; the request may have reached the service", attempts: 1)))
    }

    @Test func aRequestThatIsNotIdempotentIsSentAgainWhenItSurelyDidNotArrive() {
        var request = attempt(idempotent: false)
        #expect(answered(&request, .transient, status: 503).action == .backOffAndSendAgain(failures: 1, lastFailure: "HTTP 503"))
        let refused = request.noAnswer("refused", mayHaveArrived: false)
        #expect(refused.action == .backOffAndSendAgain(failures: 2, lastFailure: "refused"))
        let unreachable = request.connectionFailed("unreachable")
        #expect(unreachable.action == .fail(.gaveUp(lastFailure: "unreachable", attempts: 3)))
    }

    @Test func aRefusedTokenIsRenewedOnceAndAnExpiredOneAsOftenAsTheAttemptsAllow() {
        var refused = attempt()
        #expect(answered(&refused, .tokenRejected, status: 401) == .init(action: .renewTokenAndSendAgain, attemptFailed: nil))
        #expect(answered(&refused, .tokenRejected, status: 401).action == .fail(.credentialsRefused(answer: "HTTP 401")))

        var expired = attempt(maxAttempts: 2)
        #expect(answered(&expired, .tokenExpired, status: 401).action == .renewTokenAndSendAgain)
        #expect(answered(&expired, .tokenExpired, status: 401).action == .renewTokenAndSendAgain)
        #expect(answered(&expired, .tokenExpired, status: 401).action == .fail(.credentialsRefused(answer: "HTTP 401")))
        #expect(answered(&expired, .success) == .init(action: .settle(attempts: 1), attemptFailed: false), "renewals use no attempt")
    }

    @Test func aTokenThatCannotBeRenewedIsRefusedAtOnce() {
        var request = attempt()
        #expect(answered(&request, .tokenExpired, status: 401, canRenewToken: false).action == .fail(.credentialsRefused(answer: "HTTP 401")))
    }

    @Test func anAnswerTooLargeToReadFailsTheRowWithoutBlamingTheService() {
        var request = attempt()
        let tooLarge = request.answerTooLarge()
        #expect(tooLarge == .init(action: .fail(.tooLarge(attempts: 1)), attemptFailed: false))
    }

    @Test func theFirstSendIsAnnouncedOnce() {
        var request = attempt()
        let first = request.takeFirstSend()
        _ = answered(&request, .rateLimited, status: 429)
        let second = request.takeFirstSend()
        #expect(first && !second)
    }

    @Test func theDescriptionIsAskedForOnlyWhenAFailureNeedsIt() {
        var request = attempt()
        var asked = 0
        _ = request.answered(.success, status: 200, canRenewToken: true) {
            asked += 1
            return ""
        }
        _ = request.answered(.rateLimited, status: 429, canRenewToken: true) {
            asked += 1
            return ""
        }
        #expect(asked == 0)
    }
}
