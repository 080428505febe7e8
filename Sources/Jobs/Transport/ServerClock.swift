import Synchronization

/// The service's clock as its answers' `Date` headers show it. ID Scan tokens are dated by it (a skewed local
/// clock must not mint tokens that are not yet valid), stored quota resets are kept in it, and workers sharing a
/// quota judge its resets by it.
///
/// A `Date` header has whole seconds: it shows the server's time rounded down, up to a second early. So the
/// offset kept is the largest seen, which many answers bring within milliseconds of the truth; one more than a
/// second below it means a clock was set back, and is taken as it is.
package final class ServerClock: Sendable {
    private let offset = Mutex<Double?>(nil)
    private let wallClock: WallClock

    package init(wallClock: WallClock) {
        self.wallClock = wallClock
    }

    /// Server clock minus local clock, in seconds; 0 until an answer said otherwise.
    package var offsetSeconds: Double { offset.withLock { $0 ?? 0 } }

    /// Now on the server's clock, in seconds since 1970.
    package var epochSeconds: Double { wallClock.epochSeconds + offsetSeconds }

    /// Notes the server's time `serverEpochSeconds` seen at local time `localEpochSeconds`.
    package func record(serverEpochSeconds: Double, atLocal localEpochSeconds: Double) {
        let observed = serverEpochSeconds - localEpochSeconds
        offset.withLock { offset in
            if let current = offset, observed <= current, observed > current - 1 { return }  // the same clock, rounded down
            offset = observed
        }
    }
}
