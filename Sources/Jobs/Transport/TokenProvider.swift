/// Mints bearer tokens on first need and renews them before they expire or when the service rejects one.
///
/// Concurrent callers share one minting request. A token is renewed when less than a tenth of its lifetime is
/// left, at least 5 s (or half the lifetime, for very short ones) and at most a minute, so a request that waits a
/// little on its way does not arrive with an expired token.
package actor TokenProvider {
    package struct Token: Sendable {
        package var value: String
        package var lifetime: Duration

        package init(value: String, lifetime: Duration) {
            self.value = value
            self.lifetime = lifetime
        }
    }

    private let mint: @Sendable () async throws -> Token
    private let clock: EngineClock
    private var current: (token: Token, renewAt: EngineClock.Instant)?
    private var minting: Task<Token, any Error>?

    /// - Parameter clock: The clock lifetimes are measured on.
    package init(clock: EngineClock, mint: @escaping @Sendable () async throws -> Token) {
        self.clock = clock
        self.mint = mint
    }

    /// A token that is valid now.
    package func token() async throws -> String {
        if let current, clock.now < current.renewAt { return current.token.value }
        if let minting { return try await minting.value.value }
        let task = Task { try await mint() }
        minting = task
        defer { minting = nil }
        let token = try await task.value
        let margin = min(.seconds(60), max(token.lifetime / 10, min(.seconds(5), token.lifetime / 2)))
        current = (token, clock.now.advanced(by: token.lifetime - margin))
        return token.value
    }

    /// Drops `value` if it is still the current token, so the next caller mints a new one.
    package func invalidate(_ value: String) {
        if current?.token.value == value { current = nil }
    }
}
