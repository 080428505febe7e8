import Foundation
import Synchronization

/// Runs an intake's producer (reading, validating and normalising the manifest) on a thread of its own while the
/// caller writes the rows it emits, handed over in batches through a bounded queue: reading and writing each keep
/// a core busy, and at most ``batchesInFlight`` batches wait in memory whatever the manifest's size.
///
/// `prepare` runs on the producer's thread, row by row in order, to move work off the writer's (the value filter).
enum IntakePipeline {
    /// A row and what `prepare` found about it. Concrete rather than generic: unspecialised generic code cost
    /// the writer's thread a tenth of its time in metadata lookups.
    struct Item: Sendable {
        var row: IntakeRow
        /// The ``ValueFilter``'s answer: the value may have been seen before.
        var maybeSeen: Bool
    }

    static let batchSize = 4096
    static let batchesInFlight = 4

    /// Answers `produce`'s signature once every row it emitted went through `consume`. The first error wins: the
    /// producer's (a manifest problem) or the consumer's (a write), and the other side stops at its next batch.
    static func run(
        produce: @escaping @Sendable (_ emit: (IntakeRow) throws -> Void) throws -> IntakeSignature,
        prepare: @escaping @Sendable (IntakeRow) -> Item,
        consume: ([Item]) throws -> Void
    ) throws -> IntakeSignature {
        let queue = BatchQueue(capacity: batchesInFlight)
        let outcome = Mutex<Result<IntakeSignature, any Error>?>(nil)
        // Signalled when the producer is done with the queue; the thread itself may linger a moment after.
        let finished = DispatchSemaphore(value: 0)
        let producer = Thread {
            let result = Result {
                var batch: [Item] = []
                batch.reserveCapacity(batchSize)
                let signature = try produce { row in
                    batch.append(prepare(row))
                    if batch.count == batchSize {
                        try queue.send(batch)
                        batch = []
                        batch.reserveCapacity(batchSize)
                    }
                }
                if !batch.isEmpty { try queue.send(batch) }
                return signature
            }
            outcome.withLock { $0 = result }
            queue.close()
            finished.signal()
        }
        producer.stackSize = 8 << 20
        producer.start()
        var consumeError: (any Error)?
        do {
            while let batch = queue.receive() { try consume(batch) }
        } catch {
            consumeError = error
            queue.cancel()
        }
        finished.wait()
        if let consumeError { throw consumeError }
        return try outcome.withLock { $0! }.get()
    }
}

/// A blocking queue of row batches between the producer thread and the writer.
private final class BatchQueue: @unchecked Sendable {
    typealias Item = IntakePipeline.Item

    /// Thrown to the producer when the writer gave up.
    struct Cancelled: Error {}

    private let condition = NSCondition()
    private let capacity: Int
    private var batches: [[Item]] = []
    private var isClosed = false
    private var isCancelled = false

    init(capacity: Int) { self.capacity = capacity }

    func send(_ batch: [Item]) throws {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && !isCancelled { condition.wait() }
        if isCancelled { throw Cancelled() }
        batches.append(batch)
        condition.broadcast()
    }

    /// The next batch, or nil once the producer closed the queue and every batch was taken.
    func receive() -> [Item]? {
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
