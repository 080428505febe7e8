import Foundation
import Synchronization

/// What the sandbox was asked and what it answered: counters for tests and benchmarks, the number of times each
/// subject (a number, a customer key, a transaction) was served, and optionally a JSON-lines file.
public final class RequestLog: Sendable {
    /// One answered (or dropped) request.
    public struct Entry: Codable, Sendable {
        /// When the answer went (or the connection was dropped), epoch seconds.
        public var time: Double
        /// When the request arrived, epoch seconds: with `time`, the interval it was in flight at the service
        /// (tests check that no row is in flight at two workers at once).
        public var received: Double?
        public var endpoint: String
        public var subject: String?
        public var status: Int
        public var outcome: Outcome
    }

    public enum Outcome: String, Codable, Sendable {
        case ok, rejected, rateLimited = "rate_limited", fault, dropped, unauthorized, token
        /// Answered only after `slowDelay` (usually after the client gave up waiting).
        case slow
        /// Answered 2xx with a body broken on purpose (`answerDamage`).
        case damaged
        /// The head sent at once, the body one byte every `slowDelay` (`stallRate`).
        case stalled
    }

    /// Totals since the sandbox started.
    public struct Stats: Codable, Sendable, Equatable {
        public var requests = 0
        public var byOutcome: [String: Int] = [:]
        public var byEndpoint: [String: Int] = [:]
        /// Successful answers per subject (how often each number was looked up, say).
        public var served: [String: Int] = [:]
        /// Connections accepted: with TLS, one handshake each.
        public var connections = 0

        enum CodingKeys: String, CodingKey {
            case requests, connections
            case byOutcome = "by_outcome"
            case byEndpoint = "by_endpoint"
            case served
        }

        public func count(_ outcome: Outcome) -> Int { byOutcome[outcome.rawValue] ?? 0 }
    }

    private let stats = Mutex(Stats())
    private let file: FileHandle?

    init(path: String?) {
        if let path {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            file = FileHandle(forWritingAtPath: path)
        } else {
            file = nil
        }
    }

    func record(endpoint: String, subject: String?, status: Int, outcome: Outcome, received: Double? = nil) {
        stats.withLock { stats in
            stats.requests += 1
            stats.byOutcome[outcome.rawValue, default: 0] += 1
            stats.byEndpoint[endpoint, default: 0] += 1
            if outcome == .ok || outcome == .rejected, let subject { stats.served[subject, default: 0] += 1 }
        }
        if let file {
            let entry = Entry(time: Date().timeIntervalSince1970, received: received, endpoint: endpoint, subject: subject, status: status, outcome: outcome)
            if var line = try? JSONEncoder().encode(entry) {
                line.append(0x0A)
                try? file.write(contentsOf: line)
            }
        }
    }

    /// A copy of the totals.
    public var snapshot: Stats { stats.withLock { $0 } }

    func recordConnection() { stats.withLock { $0.connections += 1 } }

    /// Forgets everything counted so far.
    public func reset() { stats.withLock { $0 = Stats() } }
}
