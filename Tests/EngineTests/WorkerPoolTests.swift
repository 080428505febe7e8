import Synchronization
import Testing
import TestSupport

@testable import Jobs

/// Shutdown grace of the worker pool, in virtual time.
@Suite(.timeLimit(.minutes(1))) struct WorkerPoolTests {
    /// Items 1...count, then nil.
    final class Items: Sendable {
        private let next = Mutex(0)
        let count: Int
        init(count: Int) { self.count = count }
        func take() -> Int? {
            next.withLock { next in
                guard next < count else { return nil }
                next += 1
                return next
            }
        }
        var taken: Int { next.withLock { $0 } }
    }

    @Test func everyItemIsWorkedOnce() async throws {
        let items = Items(count: 100)
        let done = Mutex<[Int]>([])
        let pool = WorkerPool(concurrency: 4, grace: .seconds(10), clock: EngineClock(ManualClock()), control: RunControl())
        try await pool.run(next: { items.take() }) { item in done.withLock { $0.append(item) } }
        #expect(done.withLock { $0.sorted() } == Array(1...100))
    }

    /// Two workers on rows that take `rowTime` each after their request left; a stop once both are in flight, then
    /// `advance` of time. Answers the rows finished, the rows taken and the clock.
    func stopWithTwoRowsInFlight(rowTime: Duration, advance: Duration) async throws -> (done: Int, taken: Int, clock: ManualClock) {
        let clock = ManualClock()
        let control = RunControl()
        let items = Items(count: 100)
        let done = Counter()
        let inFlight = RowsInFlight()
        let pool = WorkerPool(concurrency: 2, grace: .seconds(10), clock: EngineClock(clock), control: control, inFlight: inFlight)
        async let run: Void = pool.run(next: { items.take() }) { item in
            #expect(inFlight.enter(Int64(item)))
            defer { inFlight.leave(Int64(item)) }
            try await clock.sleep(for: rowTime)
            done.increment()
        }
        await clock.waitForSleepers(2)
        control.requestStop(JobError(.stoppedResumable, "Stopped by SIGTERM"))
        // The two rows and the grace.
        await clock.waitForSleepers(3)
        clock.advance(by: advance)
        try await run
        return (done.current, items.taken, clock)
    }

    @Test func rowsInFlightFinishWithinTheGraceAndNoNewRowStarts() async throws {
        let outcome = try await stopWithTwoRowsInFlight(rowTime: .seconds(5), advance: .seconds(5))
        #expect(outcome.done == 2)
        #expect(outcome.taken == 2)
    }

    @Test func rowsStillInFlightWhenTheGraceEndsAreCancelled() async throws {
        let outcome = try await stopWithTwoRowsInFlight(rowTime: .seconds(60), advance: .seconds(10))
        #expect(outcome.done == 0, "cancelled rows stay pending in the store")
        #expect(outcome.clock.now.offset == .seconds(10))
    }

    /// Rows that only wait (for the quota, say) before their first request never hold a stop up: no row is in
    /// flight, so every worker is cancelled at once, without waiting out the grace; one that reaches its first send
    /// after the stop gives up unsent.
    @Test func aStopWithNoRowInFlightEndsAtOnce() async throws {
        let clock = ManualClock()
        let control = RunControl()
        let items = Items(count: 100)
        let inFlight = RowsInFlight()
        let pool = WorkerPool(concurrency: 2, grace: .seconds(10), clock: EngineClock(clock), control: control, inFlight: inFlight)
        async let run: Void = pool.run(next: { items.take() }) { item in
            try await clock.sleep(for: .seconds(60))  // the quota's reset
            #expect(inFlight.enter(Int64(item)))
        }
        await clock.waitForSleepers(2)
        control.requestStop(JobError(.stoppedResumable, "Stopped by SIGTERM"))
        try await run
        #expect(clock.now.offset == .zero, "no time passed")
        #expect(!inFlight.enter(99), "no row enters after a stop")
        #expect(items.taken == 2)
    }

    @Test func anErrorStopsTheRunWithTheFirstReasonMappedByTheExitTable() async throws {
        let control = RunControl()
        let items = Items(count: 1_000)
        let pool = WorkerPool(concurrency: 4, grace: .seconds(10), clock: EngineClock(ManualClock()), control: control)
        try await pool.run(next: { items.take() }) { item in
            if item == 7 { throw ServiceError.failing }
        }
        #expect(control.stopReason?.code == .stoppedResumable)
        #expect(control.stopReason?.message.hasPrefix("Most recent requests to the API failed") == true)
        #expect(items.taken < 1_000)
    }
}
