import Synchronization

/// A worker's lease on the items it claimed from a shared store, as its heartbeat last renewed it.
///
/// Measured on the local clock from the moment each renewal was sent, so it never ends later than the database's
/// own `lease_until` (which starts when the statement ran). A worker sends only while at least a third of its lease
/// is left (one renewal may be late); with less, it waits for the heartbeat; once it ran out, other workers may
/// hold its items, so it sends nothing more and its run stops.
package final class WorkerLease: Sendable {
    private struct State {
        var expiresAt: EngineClock.Instant
        var isLost = false
    }

    package let duration: Duration
    /// What a worker whose lease ran out is told (``StoreError/claimLost(location:)``).
    package let lostError: StoreError
    private let clock: EngineClock
    private let state: Mutex<State>
    /// How often a worker waiting for a late renewal looks again.
    static let recheckInterval = Duration.milliseconds(50)

    /// - Parameter registeredAt: When the registration that started the lease was sent.
    package init(duration: Duration, registeredAt: EngineClock.Instant, clock: EngineClock, lost: StoreError) {
        self.duration = duration
        self.lostError = lost
        self.clock = clock
        self.state = Mutex(State(expiresAt: registeredAt.advanced(by: duration)))
    }

    /// The heartbeat renewed the lease with a statement sent at `sentAt`.
    package func renewed(at sentAt: EngineClock.Instant) {
        state.withLock { state in
            guard !state.isLost else { return }
            state.expiresAt = max(state.expiresAt, sentAt.advanced(by: duration))
        }
    }

    /// The database refused to renew the lease, or a claim found it over: nothing more is sent.
    package func markLost() {
        state.withLock { $0.isLost = true }
    }

    /// Whether the lease is over at `now`.
    package func hasExpired(at now: EngineClock.Instant) -> Bool {
        state.withLock { $0.isLost || now >= $0.expiresAt }
    }

    /// Returns once this worker may send: at once while a third of the lease is left; otherwise when the heartbeat
    /// renews it.
    ///
    /// - Throws: ``lostError`` once the lease ran out; `CancellationError`.
    package func permit() async throws {
        while true {
            let now = clock.now
            let left = state.withLock { state -> Duration? in
                state.isLost ? nil : now.duration(to: state.expiresAt)
            }
            guard let left, left > .zero else {
                markLost()
                throw lostError
            }
            if left >= duration / 3 { return }
            try await clock.sleep(for: Self.recheckInterval)
        }
    }
}
