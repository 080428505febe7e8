import Synchronization

/// The service's clock as last seen in an answer's `Date` header. ID Scan tokens are dated by it (a skewed local
/// clock must not mint tokens that are not yet valid), and stored quota resets are kept in it.
package final class ServerClock: Sendable {
    private let offset = Mutex<Double>(0)
    private let wallClock: WallClock

    package init(wallClock: WallClock) {
        self.wallClock = wallClock
    }

    /// Server clock minus local clock, in seconds; 0 until an answer said otherwise.
    package var offsetSeconds: Double { offset.withLock { $0 } }

    /// Now on the server's clock, in seconds since 1970.
    package var epochSeconds: Double { wallClock.epochSeconds + offsetSeconds }

    /// Notes the server's time `serverEpochSeconds` seen at local time `localEpochSeconds`.
    package func record(serverEpochSeconds: Double, atLocal localEpochSeconds: Double) {
        offset.withLock { $0 = serverEpochSeconds - localEpochSeconds }
    }
}
