import Foundation
import Sandbox

/// The sandbox's request log read back as the ledger of what the workers sent: which rows were served more than
/// once, and whether a row was ever in flight at two workers at the same moment.
struct RequestLedger {
    let entries: [RequestLog.Entry]

    init(path: String) throws {
        entries = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(RequestLog.Entry.self, from: Data($0.utf8))
        }
    }

    /// Row requests (not token requests) that the service acted on.
    private var served: [RequestLog.Entry] {
        entries.filter { $0.subject != nil && ($0.outcome == .ok || $0.outcome == .rejected) && !$0.endpoint.contains("token") }
    }

    /// Served requests beyond the first, per endpoint and row.
    var repeats: Int {
        Dictionary(grouping: served) { "\($0.endpoint) \($0.subject ?? "")" }.values.reduce(0) { $0 + $1.count - 1 }
    }

    /// Pairs of requests for the same endpoint and row whose time at the service overlapped (from arrival to
    /// answer): one worker never sends a row twice at once, so each such pair is two workers sending it together.
    var overlaps: Int {
        var count = 0
        let requests = entries.filter { $0.subject != nil && !$0.endpoint.contains("token") && $0.received != nil }
        for (_, same) in Dictionary(grouping: requests, by: { "\($0.endpoint) \($0.subject ?? "")" }) where same.count > 1 {
            let sorted = same.sorted { ($0.received ?? 0) < ($1.received ?? 0) }
            var latestEnd = sorted[0].time
            for entry in sorted.dropFirst() {
                if (entry.received ?? 0) < latestEnd { count += 1 }
                latestEnd = max(latestEnd, entry.time)
            }
        }
        return count
    }
}
