import Synchronization

/// An ID Scan transaction created through the sandbox.
public struct IDScanTransaction: Sendable, Equatable {
    public var id: String
    public var tasks: [String]
    public var locale: String
    public var mobileOnly: Bool
    public var expiresIn: Int
    /// When it expires, seconds since 1970.
    public var expires: Double
    /// The request's `Idempotency-Key` header, if any (the service itself doesn't deduplicate on it).
    public var idempotencyKey: String?
}

/// The transactions created so far, in memory, by ID.
final class IDScanTransactions: Sendable {
    private let transactions = Mutex<[String: IDScanTransaction]>([:])

    func add(_ transaction: IDScanTransaction) {
        transactions.withLock { $0[transaction.id] = transaction }
    }

    func transaction(id: String) -> IDScanTransaction? { transactions.withLock { $0[id] } }

    var count: Int { transactions.withLock { $0.count } }
}

extension Sandbox {
    /// A transaction created through `POST /id-scan/v1/transactions`, or nil.
    public func idscanTransaction(id: String) -> IDScanTransaction? { idscanTransactions.transaction(id: id) }

    /// How many ID Scan transactions were created.
    public var idscanTransactionCount: Int { idscanTransactions.count }
}
