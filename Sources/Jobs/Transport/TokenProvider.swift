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

    private typealias Waiter = CheckedContinuation<String, any Error>

    private struct State {
        var current: (token: Token, renewAt: EngineClock.Instant)?
        /// A caller mints a token now; the others wait for it.
        var isMinting = false
        var waiters: [(id: UInt64, continuation: Waiter)] = []
        var nextWaiter: UInt64 = 0
        /// Why minting failed in a way that stops the run: later callers get it at once instead of minting again
        /// (each attempt at an unreachable or refusing endpoint would cost a connection timeout).
        var stop: ServiceError?
    }

    private enum Step {
        case ready(String)
        case mint
        case wait
    }

    private let mint: @Sendable () async throws -> Token
    private let clock: EngineClock
    private let state = Mutex(State())

    /// - Parameter clock: The clock lifetimes are measured on.
    package init(clock: EngineClock, mint: @escaping @Sendable () async throws -> Token) {
        self.clock = clock
        self.mint = mint
    }

    /// A token that is valid now. No task of its own: the first caller that needs a new token mints it, in its
    /// own task (cancelled with it); the others wait for it, and a waiter that is cancelled stops waiting. If the
    /// minting caller is cancelled, one of the waiters mints instead.
    ///
    /// - Throws: The mint's error (a ``ServiceError`` stops every later call too); `CancellationError`.
    package func token() async throws -> String {
        while true {
            try Task.checkCancellation()
            let now = clock.now
            let step = try state.withLock { state throws(ServiceError) -> Step in
                if let stop = state.stop { throw stop }
                if let current = state.current, now < current.renewAt { return .ready(current.token.value) }
                if state.isMinting { return .wait }
                state.isMinting = true
                return .mint
            }
            switch step {
            case .ready(let value):
                return value
            case .wait:
                if let value = try await waitForMint() { return value }
            case .mint:
                let result: Result<Token, any Error>
                do { result = .success(try await mint()) } catch { result = .failure(error) }
                let renewAt = clock.now
                let waiters = state.withLock { state in
                    state.isMinting = false
                    switch result {
                    case .success(let token):
                        let margin = min(.seconds(60), max(token.lifetime / 10, min(.seconds(5), token.lifetime / 2)))
                        state.current = (token, renewAt.advanced(by: token.lifetime - margin))
                    case .failure(let error as ServiceError):
                        state.stop = error
                    case .failure:
                        break
                    }
                    defer { state.waiters.removeAll() }
                    return state.waiters.map(\.continuation)
                }
                switch result {
                case .success(let token):
                    for waiter in waiters { waiter.resume(returning: token.value) }
                    return token.value
                case .failure(let error):
                    // A cancelled mint is this caller's alone: the waiters look again, and one of them mints.
                    let forWaiters: any Error = error is CancellationError ? Retry() : error
                    for waiter in waiters { waiter.resume(throwing: forWaiters) }
                    throw error
                }
            }
        }
    }

    /// Tells a waiter to look again (the minting caller was cancelled).
    private struct Retry: Error {}

    /// Waits for the mint in progress: its token, or nil to look again.
    private func waitForMint() async throws -> String? {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: Waiter) in
                    let parked = state.withLock { state -> Bool in
                        guard state.isMinting, !Task.isCancelled else { return false }
                        state.waiters.append((id, continuation))
                        return true
                    }
                    if !parked { continuation.resume(throwing: Retry()) }
                }
            } onCancel: {
                let waiter = state.withLock { state -> Waiter? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index).continuation
                }
                waiter?.resume(throwing: CancellationError())
            }
        } catch is Retry {
            return nil
        }
    }

    /// Drops `value` if it is still the current token, so the next caller mints a new one.
    package func invalidate(_ value: String) {
        state.withLock { state in
            if state.current?.token.value == value { state.current = nil }
        }
    }
}
