import Synchronization
import Testing

@testable import Jobs

@Suite struct IntakeStreamTests {
    struct ManifestProblem: Error {}

    let signature = IntakeSignature(manifestSHA256: "abc", job: "job")

    @Test func everyRowArrivesOnceInOrderAcrossBatches() throws {
        let count = IntakeStream.batchSize * 3 + 17
        let signature = self.signature
        let stream = IntakeStream.start { emit in
            for row in 1...count { try emit(IntakeRow(row: row, key: nil, value: "v\(row % 100)")) }
            return signature
        }
        var received: [IntakeItem] = []
        while let batch = try stream.nextBatch() {
            #expect(batch.count <= IntakeStream.batchSize)
            received += batch
        }
        #expect(received.map(\.row.row) == Array(1...count))
        // The filter never calls a repeat new; with the default size it calls no first occurrence a repeat here.
        #expect(received.map(\.maybeRepeated) == (1...count).map { $0 > 100 })
        #expect(try stream.signature() == signature)
    }

    @Test func aManifestProblemReachesTheStoreAfterTheRowsBeforeIt() {
        let stream = IntakeStream.start { emit in
            for row in 1...10_000 { try emit(IntakeRow(row: row, key: nil, value: "v")) }
            throw ManifestProblem()
        }
        var received = 0
        #expect(throws: ManifestProblem.self) {
            while let batch = try stream.nextBatch() { received += batch.count }
        }
        // Whole batches before the problem were handed over (the store's transaction then rolls them back).
        #expect(received == 10_000 / IntakeStream.batchSize * IntakeStream.batchSize)
        #expect(throws: ManifestProblem.self) { try stream.signature() }
    }

    @Test func aStoreThatGivesUpStopsTheProducer() async throws {
        let emitted = Atomic<Int>(0)
        let signature = self.signature
        let stream = IntakeStream.start { emit in
            for row in 1...1_000_000 {
                try emit(IntakeRow(row: row, key: nil, value: "v"))
                emitted.add(1, ordering: .relaxed)
            }
            return signature
        }
        _ = try stream.nextBatch()
        await stream.cancel()
        // The producer stops at the first batch it cannot hand over, far before the end.
        #expect(emitted.load(ordering: .relaxed) <= IntakeStream.batchSize * (IntakeStream.batchesInFlight + 2))
    }
}
