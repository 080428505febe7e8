import Synchronization
import Testing
import TestSupport

@testable import Jobs

/// Group commit: finished rows queue behind a commit in progress and go in together; a worker returns only once
/// its own row is committed.
@Suite(.timeLimit(.minutes(1))) struct GroupCommitterTests {
    @Test func rowsFinishedDuringACommitGoInTheNextOneTogether() async throws {
        let clock = ManualClock()
        let batches = Mutex<[[Int64]]>([])
        let store = InMemoryCheckpointStore { completions in
            let isFirst = batches.withLock { batches in
                batches.append(completions.map(\.id))
                return batches.count == 1
            }
            // The first commit takes a second of virtual time; the rest are instant.
            if isFirst { try? await clock.sleep(for: .seconds(1)) }
        }
        try await store.replaceIntake(rows: (1...6).map { IntakeRow(row: $0, key: nil, value: "v\($0)") })
        let committer = GroupCommitter(store: store) { nil }
        func completion(_ id: Int64) -> WorkCompletion {
            WorkCompletion(id: id, state: .succeeded, attempts: 1, result: nil, error: nil)
        }

        let first = Task { try await committer.commit(completion(1)) }
        await clock.waitForSleepers(1)
        let rest = (2...6).map { id in Task { try await committer.commit(completion(Int64(id))) } }
        while committer.queuedCount < 5 { await Task.yield() }
        // Nothing of the rest is committed while the first commit holds the store.
        #expect(try await store.counts().succeeded == 0)
        clock.advance(by: .seconds(1))
        try await first.value
        for task in rest { try await task.value }
        #expect(try await store.counts().succeeded == 6)
        #expect(batches.withLock { $0.map { $0.sorted() } } == [[1], [2, 3, 4, 5, 6]])
    }

    @Test func aWorkerReturnsOnlyOnceItsRowIsCommitted() async throws {
        let clock = ManualClock()
        let store = InMemoryCheckpointStore { _ in try? await clock.sleep(for: .seconds(1)) }
        try await store.replaceIntake(rows: [IntakeRow(row: 1, key: nil, value: "v")])
        let committer = GroupCommitter(store: store) { nil }
        let commit = Task { try await committer.commit(WorkCompletion(id: 1, state: .failed, attempts: 6, result: nil, error: "HTTP 503")) }
        await clock.waitForSleepers(1)
        #expect(try await store.counts().failed == 0)
        clock.advance(by: .seconds(1))
        try await commit.value
        #expect(try await store.counts().failed == 1)
    }
}
