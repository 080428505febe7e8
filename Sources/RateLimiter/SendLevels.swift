/// Which request a worker is reporting on: the serial number ``RateLimiter/acquire()`` gave it. The limiter uses
/// it to know how many requests were in flight as that very request left.
public struct SendTicket: Sendable, Hashable {
    let serial: Int
}

/// The requests in flight: how many were in flight as each left (itself included) and when, oldest first (at most
/// 4,096: past that the oldest are dropped).
///
/// An answer names its request by ticket; without one a 429 (which a gateway answers at once) is taken as the
/// newest's and any other answer as the oldest's. The number in flight counts what the runner has sent and not yet
/// seen answered, which includes requests the gateway had already refused whose 429 was still on its way: the
/// gateway never held those open. So every 429 takes its request off the levels of the requests sent after it.
/// Without this, answers of a millisecond made a gateway that holds eight open look as if it had admitted ten, and
/// its next refusal at nine read as a limit on the rate (a pause of a second in a run of a tenth of one).
struct SendLevels<Instant: Comparable & Sendable>: Sendable {
    private var entries: [(serial: Int, level: Int, sentAt: Instant)] = []
    private var lastSerial = 0

    /// A request left with `level` in flight: its ticket.
    mutating func append(_ level: Int, sentAt: Instant) -> SendTicket {
        if entries.count >= 4_096 { entries.removeFirst(entries.count - 4_095) }
        lastSerial += 1
        entries.append((lastSerial, level, sentAt))
        return SendTicket(serial: lastSerial)
    }

    /// The request answered (the ticket's, else the oldest): how many were in flight as it left, and when.
    mutating func admitted(_ ticket: SendTicket?) -> (level: Int, sentAt: Instant)? {
        guard let index = index(of: ticket, orNewest: false) else { return nil }
        let sent = entries.remove(at: index)
        return (sent.level, sent.sentAt)
    }

    /// The request refused (the ticket's, else the newest): how many were in flight as it left. The requests sent
    /// after it (those now from its place on) no longer count it.
    mutating func refused(_ ticket: SendTicket?) -> (level: Int, sentAt: Instant)? {
        guard let index = index(of: ticket, orNewest: true) else { return nil }
        let sent = entries.remove(at: index)
        for later in index..<entries.count { entries[later].level = max(entries[later].level - 1, 1) }
        return (sent.level, sent.sentAt)
    }

    /// How many of the requests in flight left at or after `instant`.
    func count(sentSince instant: Instant) -> Int {
        entries.reduce(0) { $0 + ($1.sentAt >= instant ? 1 : 0) }
    }

    /// The request that got no answer or was never sent (the ticket's, else the oldest or newest): forgotten.
    mutating func forget(_ ticket: SendTicket?, orNewest: Bool) {
        if let index = index(of: ticket, orNewest: orNewest) { entries.remove(at: index) }
    }

    private func index(of ticket: SendTicket?, orNewest: Bool) -> Int? {
        if let ticket { return entries.firstIndex { $0.serial == ticket.serial } }
        return entries.isEmpty ? nil : (orNewest ? entries.count - 1 : 0)
    }
}
