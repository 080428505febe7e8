import Dispatch
import Synchronization

/// Bounds a wait on something outside the process (the state database): `body` runs in the caller's task while a
/// child task sleeps `timeout` on the engine's clock. If the timeout comes first, `onTimeout` runs; it must make
/// `body` end (closing the connection it waits on fails every statement in flight), and `body`'s error becomes
/// ``DeadlineExceeded``. `body` is not cancelled: a statement's answer can only be stopped by closing its connection.
///
/// The deadline outlives the caller's cancellation (a worker whose grace ran out): its statement still waits on
/// the database, so the timer goes on, then in real time (a dispatch timer the end of `body` calls off).
package enum Deadline {
    /// The wait passed its deadline.
    package struct DeadlineExceeded: Error, Sendable {}

    /// Runs `body`, calling `onTimeout` once `timeout` has passed on `clock` without it ending.
    ///
    /// - Throws: ``DeadlineExceeded`` when the timeout came first; otherwise what `body` throws.
    package static func run<T>(
        timeout: Duration, clock: EngineClock, onTimeout: @escaping @Sendable () -> Void, _ body: () async throws -> T
    ) async throws -> T {
        let deadline = clock.now.advanced(by: timeout)
        let watch = Watch()
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask {
                do {
                    try await clock.sleep(until: deadline)
                } catch {
                    guard await watch.wait(for: clock.now.duration(to: deadline)) else { return }
                }
                if watch.fire() { onTimeout() }
            }
            defer {
                watch.end()
                group.cancelAll()
            }
            do {
                return try await body()
            } catch {
                if watch.hasFired { throw DeadlineExceeded() }
                throw error
            }
        }
    }

    /// Whether the body ended or the deadline fired first, and a timer's wait once the caller was cancelled.
    private final class Watch: Sendable {
        private struct State {
            var hasEnded = false
            var hasFired = false
            var waiter: CheckedContinuation<Bool, Never>?
        }

        private let state = Mutex(State())

        var hasFired: Bool { state.withLock { $0.hasFired } }

        /// The body ended: the deadline is off.
        func end() {
            let waiter = state.withLock { state in
                state.hasEnded = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }

        /// Marks the deadline passed, unless the body ended first.
        func fire() -> Bool {
            state.withLock { state in
                guard !state.hasEnded else { return false }
                state.hasFired = true
                return true
            }
        }

        /// Waits `duration` of real time without heeding cancellation; false when the body ended first.
        func wait(for duration: Duration) async -> Bool {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let hasEnded = state.withLock { state in
                    if !state.hasEnded { state.waiter = continuation }
                    return state.hasEnded
                }
                if hasEnded { return continuation.resume(returning: false) }
                let nanoseconds = max(0, Int(duration.components.seconds) * 1_000_000_000 + Int(duration.components.attoseconds / 1_000_000_000))
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
                    let waiter = self.state.withLock { state in
                        defer { state.waiter = nil }
                        return state.waiter
                    }
                    waiter?.resume(returning: true)
                }
            }
        }
    }
}
