/// The rules of one request's life, from its first send to what settles it: a pure value whose events (an answer,
/// an answer too large to read, no answer) return the step ``APIClient`` takes next. The client is the shell that
/// performs the steps (the limiter, the token, the backoff's sleep, the retry budget); the rules live here, each
/// tested on its own (``RequestAttemptTests``), as async-http-client's `Transaction.StateMachine` keeps its rules.
///
/// - A rate-limit answer sends the request again without using an attempt (the limiter pauses every worker).
/// - A rejected token is renewed and the request sent again: once when it was refused, up to `maxAttempts` times
///   when it had merely expired on its way. Neither uses an attempt.
/// - 500, 502, 503, 504, a failed connection and no answer use an attempt and are sent again after a backoff, up to
///   `maxAttempts`; a request that is not idempotent is not sent again after one that may have reached the service
///   (only a 503 or a connection that never carried it surely did not).
/// - A success or any other answer settles the request; so does an answer too large to read (it would come again).
/// - Every attempt tells the retry budget whether it failed; rate limits and token renewals tell it nothing.
struct RequestAttempt: Sendable {
    /// What the client does next.
    enum Action: Equatable, Sendable {
        /// Send again at once (the limiter makes every worker wait first).
        case sendAgainAfterRateLimit
        /// Renew the token the request was sent with, then send again.
        case renewTokenAndSendAgain
        /// Wait the backoff after `failures` failed attempts, then send again.
        case backOffAndSendAgain(failures: Int, lastFailure: String)
        /// The answer settles the request, after `attempts` attempts.
        case settle(attempts: Int)
        /// The request failed for good.
        case fail(Failure)
    }

    /// How a request fails for good.
    enum Failure: Equatable, Sendable {
        /// Its attempts ran out: the last failure, and how many.
        case gaveUp(lastFailure: String, attempts: Int)
        /// The answer was larger than the client reads.
        case tooLarge(attempts: Int)
        /// Not idempotent, and the service may or may not have acted on it.
        case ambiguous(String, attempts: Int)
        /// The gateway refused the credentials (the token, renewed as often as the rules allow).
        case credentialsRefused(answer: String)
    }

    /// One step: the action, and what the attempt tells the retry budget (nil: it was no attempt).
    struct Step: Equatable, Sendable {
        var action: Action
        /// Whether the attempt failed, for the retry budget; nil when nothing was attempted.
        var attemptFailed: Bool?
    }

    let isIdempotent: Bool
    let maxAttempts: Int
    /// Sends that counted as attempts (rate-limit answers and token renewals do not).
    private(set) var attempts = 0
    private var renewedRefusedToken = false
    private var expiredTokenRenewals = 0
    private var announced = false

    init(isIdempotent: Bool, maxAttempts: Int) {
        self.isIdempotent = isIdempotent
        self.maxAttempts = maxAttempts
    }

    /// Whether the request is about to leave for the first time (its `beforeFirstSend` is due): true once.
    mutating func takeFirstSend() -> Bool {
        defer { announced = true }
        return !announced
    }

    /// An answer arrived, classified. `canRenewToken`: the request carried a token that can be renewed.
    /// `describe` gives the answer's safe description, asked for only when a failure needs it.
    mutating func answered(_ answerClass: AnswerClass, status: Int, canRenewToken: Bool, describe: () -> String) -> Step {
        switch answerClass {
        case .rateLimited:
            return Step(action: .sendAgainAfterRateLimit)
        case .tokenExpired, .tokenRejected:
            let expired = answerClass == .tokenExpired
            if expired { expiredTokenRenewals += 1 }
            let mayRenew = expired ? expiredTokenRenewals <= maxAttempts : !renewedRefusedToken
            guard canRenewToken, mayRenew else { return Step(action: .fail(.credentialsRefused(answer: describe()))) }
            if !expired { renewedRefusedToken = true }
            return Step(action: .renewTokenAndSendAgain)
        case .transient:
            attempts += 1
            let failure = describe()
            if !isIdempotent, status != 503 {
                let message = "\(failure), after which the service may or may not have acted on the request"
                return Step(action: .fail(.ambiguous(message, attempts: attempts)), attemptFailed: true)
            }
            return retry(after: failure)
        case .success, .rejected:
            attempts += 1
            return Step(action: .settle(attempts: attempts), attemptFailed: false)
        }
    }

    /// An answer arrived that was larger than the client reads: sending again would bring it again.
    mutating func answerTooLarge() -> Step {
        attempts += 1
        return Step(action: .fail(.tooLarge(attempts: attempts)), attemptFailed: false)
    }

    /// The connection failed before the request could leave on it.
    mutating func connectionFailed(_ description: String) -> Step {
        attempts += 1
        return retry(after: description)
    }

    /// No answer came (reset, timeout); `mayHaveArrived` when the request may have reached the service.
    mutating func noAnswer(_ description: String, mayHaveArrived: Bool) -> Step {
        attempts += 1
        if !isIdempotent, mayHaveArrived {
            let message = "\(description); the request may have reached the service"
            return Step(action: .fail(.ambiguous(message, attempts: attempts)), attemptFailed: true)
        }
        return retry(after: description)
    }

    private func retry(after failure: String) -> Step {
        guard attempts < maxAttempts else {
            return Step(action: .fail(.gaveUp(lastFailure: failure, attempts: attempts)), attemptFailed: true)
        }
        return Step(action: .backOffAndSendAgain(failures: attempts, lastFailure: failure), attemptFailed: true)
    }
}

extension RequestAttempt.Step {
    init(action: RequestAttempt.Action) {
        self.init(action: action, attemptFailed: nil)
    }
}
