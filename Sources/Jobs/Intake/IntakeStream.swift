import Foundation
import Synchronization

/// The manifest's rows on their way into a store: a producer thread reads, validates and normalises the
/// manifest while the store appends the batches it hands over through a bounded queue. Reading and writing each
/// keep a core busy, and at most ``batchesInFlight`` batches wait in memory whatever the manifest's size.
///
/// The producer also marks each accepted row whose value a ``ValueFilter`` may have seen, so the store's writer
/// needs no lookup for the rest.
package final class IntakeStream: IntakeSource, Sendable {
    static let batchSize = 4096
    static let batchesInFlight = 4

    private let queue = BatchQueue(capacity: batchesInFlight)
    private let outcome = Mutex<Result<IntakeSignature, any Error>?>(nil)
    /// Signalled when the producer is done with the queue; the thread itself may linger a moment after.
    private let finished = DispatchSemaphore(value: 0)
    /// Whether the producer is done, and the async callers of ``cancel()`` waiting for it.
    private let completion = Mutex<(isDone: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Starts reading on a thread of its own: `produce` emits every row in order and answers the signature.
    ///
    /// - Parameter filterBytes: Memory of the repeat filter (tests make it tiny to exercise the exact path).
    package static func start(
        filterBytes: Int = 16 << 20,
        produce: @escaping @Sendable (_ emit: (IntakeRow) throws -> Void) throws -> IntakeSignature
    ) -> IntakeStream {
        let stream = IntakeStream()
        let queue = stream.queue
        let producer = Thread {
            let filter = ValueFilter(bytes: filterBytes)
            let result = Result {
                var batch: [IntakeItem] = []
                batch.reserveCapacity(batchSize)
                let signature = try produce { row in
                    batch.append(IntakeItem(row: row, maybeRepeated: row.rejectReason == nil && filter.insert(row.value)))
                    if batch.count == batchSize {
                        try queue.send(batch)
                        batch = []
                        batch.reserveCapacity(batchSize)
                    }
                }
                if !batch.isEmpty { try queue.send(batch) }
                return signature
            }
            stream.outcome.withLock { $0 = result }
            queue.close()
            stream.finished.signal()
            let waiters = stream.completion.withLock { completion in
                completion.isDone = true
                defer { completion.waiters.removeAll() }
                return completion.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        producer.stackSize = 8 << 20
        producer.start()
        return stream
    }

    package func nextBatch() throws -> [IntakeItem]? {
        if let batch = queue.receive() { return batch }
        // Drained: the producer finished; surface its error, if it failed.
        _ = try signature()
        return nil
    }

    package func signature() throws -> IntakeSignature {
        finished.wait()
        finished.signal()
        return try outcome.withLock { $0! }.get()
    }

    /// The store gave up: the producer stops at its next batch. Returns once it did, without blocking a thread.
    package func cancel() async {
        queue.cancel()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isDone = completion.withLock { completion in
                if !completion.isDone { completion.waiters.append(continuation) }
                return completion.isDone
            }
            if isDone { continuation.resume() }
        }
    }
}

/// A blocking queue of row batches between the producer thread and the store.
private final class BatchQueue: @unchecked Sendable {
    /// Thrown to the producer when the store gave up.
    struct Cancelled: Error {}

    // NSCondition guards every stored property below.
    private let condition = NSCondition()
    private let capacity: Int
    private var batches: [[IntakeItem]] = []
    private var isClosed = false
    private var isCancelled = false

    init(capacity: Int) { self.capacity = capacity }

    func send(_ batch: [IntakeItem]) throws {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && !isCancelled { condition.wait() }
        if isCancelled { throw Cancelled() }
        batches.append(batch)
        condition.broadcast()
    }

    /// The next batch, or nil once the producer closed the queue and every batch was taken.
    func receive() -> [IntakeItem]? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !isClosed { condition.wait() }
        guard !batches.isEmpty else { return nil }
        condition.broadcast()
        return batches.removeFirst()
    }

    func close() {
        condition.lock()
        isClosed = true
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        isCancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
