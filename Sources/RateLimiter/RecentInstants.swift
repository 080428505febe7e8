/// The last `capacity` instants something happened at (sends, successes), in a ring: how many fell after an
/// instant, and the pace they kept.
struct RecentInstants<Instant: InstantProtocol>: Sendable, Equatable where Instant.Duration == Duration {
    let capacity: Int
    private var instants: [Instant] = []
    /// Where the oldest is, once the ring is full.
    private var oldest = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func append(_ instant: Instant) {
        if instants.count < capacity {
            instants.append(instant)
        } else {
            instants[oldest] = instant
            oldest = (oldest + 1) % capacity
        }
    }

    /// How many are later than `instant`.
    func count(after instant: Instant) -> Int {
        instants.reduce(0) { $0 + ($1 > instant ? 1 : 0) }
    }

    var newest: Instant? {
        instants.isEmpty ? nil : instants[(oldest + instants.count - 1) % instants.count]
    }

    /// Per second, from the oldest to the newest; nil for fewer than two, or all at one instant (a burst).
    var perSecond: Double? {
        guard instants.count >= 2 else { return nil }
        let first = instants[oldest]
        guard let last = newest, first < last else { return nil }
        return Double(instants.count - 1) / first.duration(to: last).seconds
    }
}

extension RecentInstants: Codable where Instant: Codable {}
