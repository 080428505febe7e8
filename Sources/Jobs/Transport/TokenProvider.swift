import Synchronization

/// Mints bearer tokens on first need and renews them before they expire or when the service rejects one.
///
/// Concurrent callers share one minting request. A token is renewed when less than a tenth of its lifetime is
/// left, at least 5 s (or half the lifetime, for very short ones) and at most a minute, so a request that waits a
/// little on its way does not arrive with an expired token. Every request asks for the token, so a valid one is
/// handed out under a lock, without an actor hop.
package final class TokenProvider: Sendable {
    package struct Token: Sendable {
        package var value: String
        package var lifetime: Duration

        package init(value: String, lifetime: Duration) {
            self.value = value
            self.lifetime = lifetime
        }
    }

    private struct State {
        var current: (token: Token, renewAt: EngineClock.Instant)?
        var minting: Task<Token, any Error>?
        /// Why minting failed in a way that stops the run: later callers get it at once instead of minting again
        /// (each attempt at an unreachable or refusing endpoint would cost a connection timeout).
        var stop: ServiceError?
    }

    private enum Step {
        case ready(String)
        case wait(Task<Token, any Error>)
    }

    private let mint: @Sendable () async throws -> Token
    private let clock: EngineClock
    private let state = Mutex(State())

    /// - Parameter clock: The clock lifetimes are measured on.
    package init(clock: EngineClock, mint: @escaping @Sendable () async throws -> Token) {
        self.clock = clock
        self.mint = mint
    }

    /// A token that is valid now.
    package func token() async throws -> String {
        let now = clock.now
        let mint = self.mint
        let step = try state.withLock { state throws(ServiceError) -> Step in
            if let stop = state.stop { throw stop }
            if let current = state.current, now < current.renewAt { return .ready(current.token.value) }
            if let minting = state.minting { return .wait(minting) }
            let minting = Task { try await mint() }
            state.minting = minting
            return .wait(minting)
        }
        switch step {
        case .ready(let value):
            return value
        case .wait(let minting):
            let result = await minting.result
            let renewAt = clock.now
            state.withLock { state in
                // The first caller back installs the new token; the others find it installed.
                guard state.minting == minting else { return }
                state.minting = nil
                if case .failure(let error as ServiceError) = result { state.stop = error }
                if case .success(let token) = result {
                    let margin = min(.seconds(60), max(token.lifetime / 10, min(.seconds(5), token.lifetime / 2)))
                    state.current = (token, renewAt.advanced(by: token.lifetime - margin))
                }
            }
            return try result.get().value
        }
    }

    /// Drops `value` if it is still the current token, so the next caller mints a new one.
    package func invalidate(_ value: String) {
        state.withLock { state in
            if state.current?.token.value == value { state.current = nil }
        }
    }
}
