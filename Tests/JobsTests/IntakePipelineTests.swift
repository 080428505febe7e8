import Synchronization
import Testing

@testable import Jobs

@Suite struct IntakePipelineTests {
    struct ManifestProblem: Error {}
    struct WriteProblem: Error {}

    let signature = IntakeSignature(manifestSHA256: "abc", job: "job")

    @Test func everyRowArrivesOnceInOrderAcrossBatches() throws {
        let count = IntakePipeline.batchSize * 3 + 17
        var received: [Int] = []
        let answer = try IntakePipeline.run { emit in
            for row in 1...count { try emit(IntakeRow(row: row, key: nil, value: "v\(row)")) }
            return signature
        } prepare: { IntakePipeline.Item(row: $0, maybeSeen: false) } consume: { batch in
            #expect(batch.count <= IntakePipeline.batchSize)
            received += batch.map(\.row.row)
        }
        #expect(received == Array(1...count))
        #expect(answer == signature)
    }

    @Test func aManifestProblemReachesTheCaller() {
        var received = 0
        #expect(throws: ManifestProblem.self) {
            try IntakePipeline.run { emit in
                for row in 1...10_000 { try emit(IntakeRow(row: row, key: nil, value: "v")) }
                throw ManifestProblem()
            } prepare: { IntakePipeline.Item(row: $0, maybeSeen: false) } consume: { received += $0.count }
        }
        // Whole batches before the problem were written (the caller's transaction then rolls them back).
        #expect(received == 10_000 / IntakePipeline.batchSize * IntakePipeline.batchSize)
    }

    @Test func aWriteProblemStopsTheProducer() {
        let emitted = Atomic<Int>(0)
        #expect(throws: WriteProblem.self) {
            try IntakePipeline.run { emit in
                for row in 1...1_000_000 {
                    try emit(IntakeRow(row: row, key: nil, value: "v"))
                    emitted.add(1, ordering: .relaxed)
                }
                return signature
            } prepare: { IntakePipeline.Item(row: $0, maybeSeen: false) } consume: { _ in throw WriteProblem() }
        }
        // The producer stops at the first batch it cannot hand over, far before the end.
        #expect(emitted.load(ordering: .relaxed) <= IntakePipeline.batchSize * (IntakePipeline.batchesInFlight + 2))
    }
}
