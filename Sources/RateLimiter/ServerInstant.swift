/// An instant on the server's clock, in epoch seconds: the time every worker of a shared campaign agrees on (each
/// judges it by the `Date` headers it saw). The learner a shared ledger keeps (``SharedQuota``) runs on it.
public struct ServerInstant: InstantProtocol, Codable {
    public var epochSeconds: Double

    public init(epochSeconds: Double) {
        self.epochSeconds = epochSeconds
    }

    public func advanced(by duration: Duration) -> ServerInstant {
        ServerInstant(epochSeconds: epochSeconds + duration.seconds)
    }

    public func duration(to other: ServerInstant) -> Duration {
        .seconds(other.epochSeconds - epochSeconds)
    }

    public static func < (lhs: ServerInstant, rhs: ServerInstant) -> Bool {
        lhs.epochSeconds < rhs.epochSeconds
    }

    public init(from decoder: any Decoder) throws {
        epochSeconds = try decoder.singleValueContainer().decode(Double.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(epochSeconds)
    }
}
