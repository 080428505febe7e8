package import Logging
import Synchronization

/// Counters of one invocation, shared by every worker.
package final class RunStatistics: Sendable {
    package struct Counts: Sendable, Equatable {
        package var requests = 0
        package var throttled = 0
        package var retries = 0
        package var apiVersion: String?
        package var sunset: String?
        /// Whether any request of this invocation had an answer (any status): from then on an unreachable
        /// service is an outage to wait out, not a misconfiguration.
        package var hasAnswers = false
    }

    private let counts = Mutex(Counts())

    package init() {}

    package var snapshot: Counts { counts.withLock { $0 } }

    package func recordRequest() { counts.withLock { $0.requests += 1 } }
    package func recordThrottle() { counts.withLock { $0.throttled += 1 } }
    package func recordRetry() { counts.withLock { $0.retries += 1 } }
    package func recordAnswer() { counts.withLock { $0.hasAnswers = true } }
    package var hasAnswers: Bool { counts.withLock { $0.hasAnswers } }

    /// What a connection failure means for this run: `failure` itself when the run must stop (69); nil when it
    /// is an outage to retry, which an unreachable service is once the run has had answers.
    package func stopping(for failure: ConnectionFailure) -> ConnectionFailure? {
        if case .unreachable = failure, hasAnswers { return nil }
        return failure
    }

    /// Notes that an answer came, with its `api-version` and `sunset`; logs a `sunset` notice once per run.
    package func recordHeaders(apiVersion: String?, sunset: String?, logger: Logger) {
        let isNewSunset = counts.withLock { counts -> Bool in
            counts.hasAnswers = true
            if let apiVersion { counts.apiVersion = apiVersion }
            guard let sunset, !sunset.isEmpty, sunset.lowercased() != "n/a", counts.sunset == nil else { return false }
            counts.sunset = sunset
            return true
        }
        if isNewSunset, let sunset {
            logger.warning("the API announces its deprecation (sunset header)", metadata: ["http.sunset": "\(sunset)"])
        }
    }
}
