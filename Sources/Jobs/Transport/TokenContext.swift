/// What a job needs to make its token provider.
package struct TokenContext: Sendable {
    package var transport: any HTTPTransport
    package var credentials: ClientCredentials
    package var retry: JobConfiguration.Retry
    package var statistics: RunStatistics
    package var serverClock: ServerClock
    package var clock: EngineClock
    /// A number in 0..<1 for each backoff's jitter.
    package var jitter: @Sendable () -> Double
}
