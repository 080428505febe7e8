import Synchronization

/// Bounds a wait on something outside the process (the state database): `body` runs in the caller's task while a
/// child task sleeps `timeout` on the engine's clock. If the timeout comes first, `onTimeout` runs; it must make
/// `body` end (closing the connection it waits on fails every statement in flight), and `body`'s error becomes
/// ``DeadlineExceeded``. `body` is not cancelled: a statement's answer can only be stopped by closing its connection.
package enum Deadline {
    /// The wait passed its deadline.
    package struct DeadlineExceeded: Error, Sendable {}

    /// Runs `body`, calling `onTimeout` once `timeout` has passed on `clock` without it ending.
    ///
    /// - Throws: ``DeadlineExceeded`` when the timeout came first; otherwise what `body` throws.
    package static func run<T>(
        timeout: Duration, clock: EngineClock, onTimeout: @escaping @Sendable () -> Void, _ body: () async throws -> T
    ) async throws -> T {
        let fired = Fired()
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask {
                do { try await clock.sleep(for: timeout) } catch { return }
                fired.set()
                onTimeout()
            }
            defer { group.cancelAll() }
            do {
                return try await body()
            } catch {
                if fired.isSet { throw DeadlineExceeded() }
                throw error
            }
        }
    }

    /// Whether the timeout came first.
    private final class Fired: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }
}
