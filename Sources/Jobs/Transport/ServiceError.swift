/// Why the API cannot be used now: the run stops (rows stay pending), whatever row it happened on.
package enum ServiceError: Error, Sendable, Equatable {
    /// The quota is spent and resets further away than `quota.max_wait` (nil: at an unknown time).
    case quotaExhausted(resetIn: Duration?)
    /// Most recent requests failed (5xx or no answer): the retry budget is spent.
    case failing
    /// The API refused the credentials even with a new token; the service's answer, described.
    case credentialsRefused(answer: String)
    /// The token endpoint refused the client id and secret.
    case tokenRefused(answer: String)
    /// The token endpoint rejected the request itself (wrong URL or scopes).
    case tokenRequestRejected(answer: String)
    /// The token endpoint answered more than `http.max_body_mb`.
    case tokenAnswerTooLarge
    /// The token endpoint answered without an `access_token`.
    case tokenAnswerWithoutToken
    /// The token endpoint's answer has a field of the wrong JSON type.
    case tokenAnswerWrongType(AnswerShapeError)
    /// The token endpoint kept failing transiently.
    case tokenEndpointFailing(problem: String)
    /// The API cannot be reached or trusted: a certificate, a proxy, or no route before the run's first answer.
    case connection(ConnectionFailure)
}
