import Synchronization
import Testing
import TestSupport

@testable import Jobs

/// Nothing in the engine waits without a bound: every waiter (group commit, work queue, token mint, the lease, a
/// store call's deadline) ends on cancellation or at its deadline, in virtual time.
@Suite(.timeLimit(.minutes(1))) struct CancellationTests {
    private func completion(_ id: Int64) -> WorkCompletion {
        WorkCompletion(id: id, state: .succeeded, attempts: 1, result: nil, error: nil)
    }

    // MARK: Deadline

    @Test func aStoreCallPastItsDeadlineIsCutAndReportedAsADeadlineExceeded() async throws {
        let clock = ManualClock()
        let statement = Statement()
        let timedOut = Counter()
        let call = Task {
            try await Deadline.run(timeout: .seconds(5), clock: EngineClock(clock), onTimeout: {
                timedOut.increment()
                statement.closeConnection()
            }) {
                try await statement.answer()
            }
        }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(4.9))
        await Task.yield()
        #expect(timedOut.current == 0, "not before its deadline")
        clock.advance(by: .seconds(0.1))
        await #expect(throws: Deadline.DeadlineExceeded.self) { try await call.value }
        #expect(timedOut.current == 1)
        // The deadline's message names the operation and the place, and ends the run resumably.
        let ending = ExitTable.jobError(for: StoreError.stateTimedOut(location: "db:5432/batch", operation: "commit finished rows", timeout: .seconds(5)))
        #expect(ending.code.exitCode == 75)
    }

    /// A worker cancelled at the end of its grace still waits on its statement: the deadline stands (then in real
    /// time), so a database that never answers cannot hold the run past it.
    @Test func aCancelledCallerKeepsItsDeadline() async throws {
        let clock = ManualClock()
        let statement = Statement()
        let call = Task {
            try await Deadline.run(timeout: .milliseconds(200), clock: EngineClock(clock), onTimeout: { statement.closeConnection() }) {
                try await statement.answer()
            }
        }
        await clock.waitForSleepers(1)
        call.cancel()
        await #expect(throws: Deadline.DeadlineExceeded.self) { try await call.value }
    }

    @Test func aStoreCallInTimeKeepsItsAnswerAndCancelsItsTimer() async throws {
        let clock = ManualClock()
        let value = try await Deadline.run(timeout: .seconds(5), clock: EngineClock(clock), onTimeout: { Issue.record("no timeout") }) { 42 }
        #expect(value == 42)
        clock.advance(by: .seconds(10))
    }

    // MARK: Lease

    @Test func aWorkerSendsWhileItsLeaseRunsWaitsWhenItIsShortAndStopsOnceItRanOut() async throws {
        let clock = ManualClock()
        let engineClock = EngineClock(clock)
        let lost = StoreError.claimLost(location: "db:5432/batch")
        let lease = WorkerLease(duration: .seconds(3), registeredAt: engineClock.now, clock: engineClock, lost: lost)
        try await lease.permit()
        // Less than a third left: the worker waits for the heartbeat, which renews it.
        clock.advance(by: .seconds(2.5))
        let waiting = Task { try await lease.permit() }
        await clock.waitForSleepers(1)
        lease.renewed(at: engineClock.now)
        clock.advance(by: WorkerLease.recheckInterval)
        try await waiting.value
        // No renewal for a whole lease: nothing more is sent.
        clock.advance(by: .seconds(3))
        await #expect(throws: lost) { try await lease.permit() }
        #expect(lease.hasExpired(at: engineClock.now))
        lease.renewed(at: engineClock.now)
        await #expect(throws: lost, "a lost lease stays lost") { try await lease.permit() }
    }

    @Test func aLostLeaseStopsClaimsAtOnce() async throws {
        let clock = ManualClock()
        let engineClock = EngineClock(clock)
        let lost = StoreError.claimLost(location: "db:5432/batch")
        let lease = WorkerLease(duration: .seconds(30), registeredAt: engineClock.now, clock: engineClock, lost: lost)
        let store = InMemoryCheckpointStore(beforeClaiming: { try await lease.permit() })
        try await store.replaceIntake(rows: (1...(store.claimSize + 10)).map { IntakeRow(row: $0, key: nil, value: "v\($0)") })
        let queue = WorkQueue(store: store, limit: nil, clock: engineClock)
        #expect(try await queue.next()?.id == 1)
        lease.markLost()
        // The page in hand was claimed under the lease; the next claim is refused, for every worker.
        for _ in 1..<store.claimSize { _ = try await queue.next() }
        await #expect(throws: lost) { try await queue.next() }
        await #expect(throws: lost) { try await queue.next() }
    }

    // MARK: Waiters

    @Test func aWorkerQueuedBehindAStuckCommitLeavesOnCancellation() async throws {
        let clock = ManualClock()
        let store = InMemoryCheckpointStore { _ in try? await clock.sleep(for: .seconds(60)) }
        try await store.replaceIntake(rows: (1...2).map { IntakeRow(row: $0, key: nil, value: "v\($0)") })
        let committer = GroupCommitter(store: store) { nil }
        let leader = Task { try await committer.commit(completion(1)) }
        await clock.waitForSleepers(1)
        let queued = Task { try await committer.commit(completion(2)) }
        while committer.queuedCount < 1 { await Task.yield() }
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        #expect(committer.queuedCount == 0, "its row left the queue: it stays pending")
        clock.advance(by: .seconds(60))
        try await leader.value
        #expect(try await store.counts().succeeded == 1)
    }

    @Test func workersWaitingForAStuckClaimLeaveOnCancellationAndSeeItsError() async throws {
        let clock = ManualClock()
        struct Refused: Error {}
        let store = InMemoryCheckpointStore(beforeClaiming: {
            try await clock.sleep(for: .seconds(30))
            throw Refused()
        })
        try await store.replaceIntake(rows: (1...3).map { IntakeRow(row: $0, key: nil, value: "v\($0)") })
        let queue = WorkQueue(store: store, limit: nil, clock: EngineClock(clock))
        let claiming = Task { try await queue.next() }
        await clock.waitForSleepers(1)
        let cancelled = Task { try await queue.next() }
        let waiting = Task { try await queue.next() }
        await Task.yield()
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        clock.advance(by: .seconds(30))
        await #expect(throws: Refused.self) { try await claiming.value }
        await #expect(throws: Refused.self, "a worker waiting for the claim gets its error") { try await waiting.value }
    }

    @Test func aWaiterForATokenLeavesOnCancellationAndACancelledMintIsTakenOver() async throws {
        let clock = ManualClock()
        let mints = Counter()
        let provider = TokenProvider(clock: EngineClock(clock)) {
            let number = mints.increment()
            try await clock.sleep(for: .seconds(10))
            return TokenProvider.Token(value: "t\(number)", lifetime: .seconds(3600))
        }
        let minting = Task { try await provider.token() }
        await clock.waitForSleepers(1)
        let leaving = Task { try await provider.token() }
        let staying = Task { try await provider.token() }
        await Task.yield()
        leaving.cancel()
        await #expect(throws: CancellationError.self) { try await leaving.value }
        // The caller that mints is cancelled (its worker's grace ran out): its mint stops, and a waiter mints.
        minting.cancel()
        await #expect(throws: CancellationError.self) { try await minting.value }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(10))
        #expect(try await staying.value == "t2")
        #expect(mints.current == 2)
    }
}

/// A statement whose answer never comes: cancellation does not reach it, only its connection closing does.
private final class Statement: Sendable {
    private let state = Mutex<(isClosed: Bool, waiter: CheckedContinuation<Void, any Error>?)>((false, nil))

    func answer() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let isClosed = state.withLock { state in
                if !state.isClosed { state.waiter = continuation }
                return state.isClosed
            }
            if isClosed { continuation.resume(throwing: CancellationError()) }
        }
    }

    func closeConnection() {
        let waiter = state.withLock { state in
            state.isClosed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: CancellationError())
    }
}
