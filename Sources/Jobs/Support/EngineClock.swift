/// The one clock the engine waits on: any `Clock` measured in `Duration`, type-erased so the engine's types need
/// no generic parameter. Runs use `ContinuousClock`; tests pass a `ManualClock` and move time themselves.
///
/// Instants are offsets from the moment the clock was wrapped, so instants of two wrapped clocks must not be mixed.
package struct EngineClock: Clock, Sendable {
    package struct Instant: InstantProtocol, Sendable {
        package var offset: Duration
        package init(offset: Duration) { self.offset = offset }
        package func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        package func duration(to other: Instant) -> Duration { other.offset - offset }
        package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let elapsed: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration, Duration?) async throws -> Void
    package let minimumResolution: Duration

    /// Wraps `clock`; its current instant becomes offset zero.
    package init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleeper = { offset, tolerance in try await clock.sleep(until: origin.advanced(by: offset), tolerance: tolerance) }
        minimumResolution = clock.minimumResolution
    }

    /// The system's monotonic clock.
    package static var continuous: EngineClock { EngineClock(ContinuousClock()) }

    package var now: Instant { Instant(offset: elapsed()) }

    package func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await sleeper(deadline.offset, tolerance)
    }
}
