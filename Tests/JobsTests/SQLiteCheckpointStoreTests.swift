import Foundation
import Testing

@testable import Jobs

@Suite struct SQLiteCheckpointStoreTests {
    func makeStore(rows: [IntakeRow]) async throws -> (SQLiteCheckpointStore, String) {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        let store = try SQLiteCheckpointStore(path: path)
        try await store.replaceIntake(duplicateReason: nil) { emit in
            for row in rows { try emit(row) }
            return IntakeSignature(manifestSHA256: "abc", job: "job")
        }
        return (store, path)
    }

    let rows = [
        IntakeRow(row: 1, key: "a", value: "31611111111"),
        IntakeRow(row: 2, key: "b", value: "31622222222"),
        IntakeRow(row: 3, key: "c", value: "31611111111"),
        IntakeRow(row: 4, key: "d", value: "bad", rejectReason: "msisdn is wrong"),
        IntakeRow(row: 5, key: nil, value: "31633333333"),
    ]

    @Test func rowsWithTheSameValueShareOneWorkItem() async throws {
        let (store, _) = try await makeStore(rows: rows)
        let pending = try await store.pendingWork(after: 0, limit: 100)
        #expect(pending.map(\.value) == ["31611111111", "31622222222", "31633333333"])
        let counts = try await store.counts()
        #expect(counts.rows == 5)
        #expect(counts.rejected == 1)
        #expect(counts.accepted == 4)
        #expect(counts.pending == 4)
        #expect(counts.pendingWork == 3)
        #expect(try await store.intakeSignature() == IntakeSignature(manifestSHA256: "abc", job: "job"))
    }

    @Test func completionsAreSharedByEveryRowOfTheirItemAndExportedInRowOrder() async throws {
        let (store, _) = try await makeStore(rows: rows)
        let pending = try await store.pendingWork(after: 0, limit: 100)
        try await store.complete(
            [
                WorkCompletion(id: pending[0].id, state: .succeeded, attempts: 2, result: ["KPN", "NL", "", ""], error: nil),
                WorkCompletion(id: pending[2].id, state: .failed, attempts: 1, result: [], error: "HTTP 404"),
            ],
            quota: nil
        )
        var finished: [FinishedRow] = []
        try await store.forEachFinishedRow { finished.append($0) }
        #expect(finished.map(\.row) == [1, 3, 5])
        #expect(finished[0].result == ["KPN", "NL", "", ""])
        #expect(finished[1].attempts == 2)
        #expect(finished[2].state == .failed)
        #expect(finished[2].error == "HTTP 404")
        let counts = try await store.counts()
        #expect(counts.succeeded == 2)
        #expect(counts.failed == 1)
        #expect(counts.pending == 1)
        #expect(try await store.pendingWork(after: 0, limit: 100).map(\.value) == ["31622222222"])
        var rejected: [RejectedRow] = []
        try await store.forEachRejectedRow { rejected.append($0) }
        #expect(rejected == [RejectedRow(row: 4, key: "d", value: "bad", reason: "msisdn is wrong")])
    }

    @Test func pagesThroughPendingWorkByID() async throws {
        let many = (1...1_200).map { IntakeRow(row: $0, key: nil, value: "v\($0)") }
        let (store, _) = try await makeStore(rows: many)
        let first = try await store.pendingWork(after: 0, limit: 512)
        let second = try await store.pendingWork(after: first.last!.id, limit: 512)
        let third = try await store.pendingWork(after: second.last!.id, limit: 512)
        #expect(first.count + second.count + third.count == 1_200)
        #expect(Set((first + second + third).map(\.value)).count == 1_200)
    }

    @Test func requeuesFailedWork() async throws {
        let (store, _) = try await makeStore(rows: rows)
        let pending = try await store.pendingWork(after: 0, limit: 100)
        try await store.complete([WorkCompletion(id: pending[1].id, state: .failed, attempts: 6, result: [], error: "HTTP 503")], quota: nil)
        #expect(try await store.counts().failed == 1)
        #expect(try await store.requeue([.failed]) == 1)
        #expect(try await store.counts().failed == 0)
        #expect(try await store.pendingWork(after: 0, limit: 100).count == 3)
    }

    @Test func aNewIntakeReplacesTheOldOne() async throws {
        let (store, _) = try await makeStore(rows: rows)
        try await store.replaceIntake(duplicateReason: nil) { emit in
            try emit(IntakeRow(row: 1, key: nil, value: "x"))
            return IntakeSignature(manifestSHA256: "def", job: "job")
        }
        #expect(try await store.counts().rows == 1)
        #expect(try await store.intakeSignature()?.manifestSHA256 == "def")
    }

    @Test func aFailedIntakeLeavesNoSignature() async throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        let store = try SQLiteCheckpointStore(path: path)
        struct Broken: Error {}
        await #expect(throws: Broken.self) {
            try await store.replaceIntake(duplicateReason: nil) { emit in
                try emit(IntakeRow(row: 1, key: nil, value: "x"))
                throw Broken()
            }
        }
        #expect(try await store.intakeSignature() == nil)
        #expect(try await store.counts().rows == 0)
    }

    @Test func savesQuotaStateWithCompletions() async throws {
        let (store, _) = try await makeStore(rows: rows)
        let quota = StoredQuota(limiter: "host|abc", limit: 600, used: 599, windowSeconds: 60, resetEpochSeconds: 1_800_000_000, serverClockOffset: -2)
        try await store.complete([], quota: quota)
        #expect(try await store.quota(for: "host|abc") == quota)
        #expect(try await store.quota(for: "other") == nil)
    }

    @Test func theDatabaseFileIsReadableByItsOwnerOnly() async throws {
        let (_, path) = try await makeStore(rows: rows)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aSecondRunCannotTakeTheLock() throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        #expect(!RunLock.isHeld(statePath: path))
        var lock: RunLock? = try RunLock(statePath: path)
        #expect(RunLock.isHeld(statePath: path))
        do {
            _ = try RunLock(statePath: path)
            Issue.record("expected the lock to be held")
        } catch {
            #expect(error.code == .stoppedResumable)
        }
        #expect(lock != nil)
        lock = nil
        #expect(!RunLock.isHeld(statePath: path))
    }
}
