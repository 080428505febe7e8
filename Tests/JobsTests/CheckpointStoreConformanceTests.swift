import Foundation
import Logging
import Testing
import TestSupport

@testable import Jobs

/// The stores the conformance suites run against: every ``CheckpointStore`` must pass them.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, memory, postgres

    var testDescription: String { rawValue }

    /// A fresh, empty store of this kind (for PostgreSQL: a new campaign on the test server, worked by this
    /// process).
    func make() async throws -> any CheckpointStore {
        switch self {
        case .sqlite: try SQLiteCheckpointStore(path: try TemporaryFiles.folder() + "/state.sqlite")
        case .memory: InMemoryCheckpointStore()
        case .postgres: try await Self.openPostgres(campaign: "test-" + UUID().uuidString)
        }
    }

    /// A worker of `campaign` on the shared test server.
    static func openPostgres(campaign: String, access: StoreAccess = .run, lease: Duration = .seconds(30)) async throws -> PostgresCheckpointStore {
        let server = try PostgresServer.shared()
        return try await PostgresCheckpointStore.open(
            try PostgresLocation(url: server.url), password: PostgresServer.password, trust: TrustSettings(), campaign: campaign,
            lease: lease, outputFolder: try TemporaryFiles.folder(), access: access, logger: Logger(label: "test")
        )
    }

    /// Ends `store`'s run and answers the store the next run works: the same one (a run's end leaves it open), or
    /// for PostgreSQL a new worker of the same campaign (an ended worker claims nothing more).
    static func nextRun(after store: any CheckpointStore) async throws -> any CheckpointStore {
        await store.endRun()
        guard let worker = store as? PostgresCheckpointStore else { return store }
        return try await openPostgres(campaign: worker.campaign)
    }

    func make(rows: [IntakeRow], duplicateReason: DuplicateReason? = nil) async throws -> any CheckpointStore {
        let store = try await make()
        try await store.replaceIntake(rows: rows, duplicateReason: duplicateReason)
        return store
    }
}

/// What every checkpoint store must do: intake, shared work items, claims, completion, requeue, quota.
@Suite struct CheckpointStoreConformanceTests {
    func makeStore(_ kind: StoreKind, rows: [IntakeRow]) async throws -> any CheckpointStore {
        try await kind.make(rows: rows)
    }

    let rows = [
        IntakeRow(row: 1, key: "a", value: "31611111111"),
        IntakeRow(row: 2, key: "b", value: "31622222222"),
        IntakeRow(row: 3, key: "c", value: "31611111111"),
        IntakeRow(row: 4, key: "d", value: "bad", rejectReason: "msisdn is wrong"),
        IntakeRow(row: 5, key: nil, value: "31633333333"),
    ]

    @Test(arguments: StoreKind.allCases) func rowsWithTheSameValueShareOneWorkItem(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: rows)
        let pending = try await store.claim(limit: 100)
        #expect(pending.map(\.value) == ["31611111111", "31622222222", "31633333333"])
        let counts = try await store.counts()
        #expect(counts.rows == 5)
        #expect(counts.rejected == 1)
        #expect(counts.accepted == 4)
        #expect(counts.pending == 4)
        #expect(counts.pendingWork == 3)
        #expect(try await store.intakeSignature() == IntakeSignature(manifestSHA256: "abc", job: "job"))
    }

    @Test(arguments: StoreKind.allCases) func completionsAreSharedByEveryRowOfTheirItemAndExportedInRowOrder(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: rows)
        let pending = try await store.claim(limit: 100)
        try await store.complete(
            [
                WorkCompletion(id: pending[0].id, state: .succeeded, attempts: 2, result: ["KPN", "NL", "", ""], error: nil),
                WorkCompletion(id: pending[2].id, state: .failed, attempts: 1, result: nil, error: "HTTP 404"),
            ],
            quota: nil
        )
        var finished: [FinishedRow] = []
        try await store.forEachFinishedRow { finished.append($0) }
        #expect(finished.map(\.row) == [1, 3, 5])
        #expect(finished[0].result == ["KPN", "NL", "", ""])
        #expect(finished[2].result == nil)
        #expect(finished[1].attempts == 2)
        #expect(finished[2].state == .failed)
        #expect(finished[2].error == "HTTP 404")
        let counts = try await store.counts()
        #expect(counts.succeeded == 2)
        #expect(counts.failed == 1)
        #expect(counts.pending == 1)
        #expect(counts.pendingWork == 1)
        var rejected: [RejectedRow] = []
        try await store.forEachRejectedRow { rejected.append($0) }
        #expect(rejected == [RejectedRow(row: 4, key: "d", value: "bad", reason: "msisdn is wrong")])
    }

    @Test(arguments: StoreKind.allCases) func claimsHandEachPendingItemOutOnceInManifestOrder(_ kind: StoreKind) async throws {
        let many = (1...1_200).map { IntakeRow(row: $0, key: nil, value: "v\($0)") }
        let store = try await makeStore(kind, rows: many)
        let first = try await store.claim(limit: 512)
        let second = try await store.claim(limit: 512)
        let third = try await store.claim(limit: 512)
        let counts: [Int] = [first.count, second.count, third.count]
        #expect(counts == [512, 512, 176])
        #expect((first + second + third).map(\.value) == many.map(\.value))
        #expect(try await store.claim(limit: 512).isEmpty)
        // A new run (or a requeue) hands out what is still pending again.
        let next = try await StoreKind.nextRun(after: store)
        #expect(try await next.claim(limit: 2000).count == 1_200)
    }

    @Test(arguments: StoreKind.allCases) func requeuesFailedWork(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: rows)
        let pending = try await store.claim(limit: 100)
        try await store.complete([WorkCompletion(id: pending[1].id, state: .failed, attempts: 6, result: nil, error: "HTTP 503")], quota: nil)
        #expect(try await store.counts().failed == 1)
        #expect(try await store.requeue([.failed]) == 1)
        #expect(try await store.counts().failed == 0)
        #expect(try await store.counts().pendingWork == 3)
    }

    @Test(arguments: StoreKind.allCases) func aNewIntakeReplacesTheOldOne(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: rows)
        try await store.replaceIntake(rows: [IntakeRow(row: 1, key: nil, value: "x")], signature: IntakeSignature(manifestSHA256: "def", job: "job"))
        #expect(try await store.counts().rows == 1)
        #expect(try await store.intakeSignature()?.manifestSHA256 == "def")
    }

    @Test(arguments: StoreKind.allCases) func aFailedIntakeChangesNothing(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: rows)
        struct Broken: Error {}
        struct BrokenSource: IntakeSource {
            func nextBatch() throws -> [IntakeItem]? { throw Broken() }
            func signature() throws -> IntakeSignature { throw Broken() }
        }
        await #expect(throws: Broken.self) {
            try await store.replaceIntake(from: BrokenSource(), duplicateReason: nil)
        }
        // The earlier intake is kept whole: a failed one changes nothing.
        #expect(try await store.intakeSignature() == IntakeSignature(manifestSHA256: "abc", job: "job"))
        #expect(try await store.counts().rows == 5)
    }

    @Test(arguments: StoreKind.allCases) func savesQuotaStateWithCompletions(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: rows)
        let quota = StoredQuota(limiter: "host|abc", limit: 600, used: 599, windowSeconds: 60, resetEpochSeconds: 1_800_000_000, serverClockOffset: -2)
        try await store.complete([], quota: quota)
        #expect(try await store.quota(for: "host|abc") == quota)
        #expect(try await store.quota(for: "other") == nil)
    }

    @Test(arguments: StoreKind.allCases) func savesTheRateLearnedFromAGatewayWithoutQuotaHeaders(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: rows)
        let learned = StoredQuota(
            limiter: "host|abc", limit: nil, used: 0, windowSeconds: nil, resetEpochSeconds: nil, serverClockOffset: 0,
            learnedRate: 1.25, learnedWindowSeconds: 60
        )
        try await store.complete([], quota: learned)
        #expect(try await store.quota(for: "host|abc") == learned)
        // Quota headers appeared: the published quota replaces the learned rate.
        let published = StoredQuota(limiter: "host|abc", limit: 75, used: 3, windowSeconds: 60, resetEpochSeconds: 1_800_000_000, serverClockOffset: 0)
        try await store.complete([], quota: published)
        #expect(try await store.quota(for: "host|abc") == published)
    }

    @Test(arguments: StoreKind.allCases) func resultFieldsRoundTripWhateverTheyHold(_ kind: StoreKind) async throws {
        let store = try await makeStore(kind, rows: [IntakeRow(row: 1, key: nil, value: "v")])
        let item = try #require(try await store.claim(limit: 1).first)
        let awkward = ["", "a\u{1F}b", "\u{1B}S", "\u{1B}", "ok", "\u{1F}"]
        try await store.complete([WorkCompletion(id: item.id, state: .succeeded, attempts: 1, result: awkward, error: nil)], quota: nil)
        var finished: [FinishedRow] = []
        try await store.forEachFinishedRow { finished.append($0) }
        #expect(finished.map(\.result) == [awkward])
    }

    @Test func theDatabaseFileIsReadableByItsOwnerOnly() async throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        _ = try SQLiteCheckpointStore(path: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aSecondRunCannotTakeTheLock() async throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        let reader = try SQLiteCheckpointStore(path: path, access: .inspect)
        #expect(try await !reader.isRunActive())
        let run = try SQLiteCheckpointStore(path: path, access: .run)
        #expect(try await reader.isRunActive())
        let holder = try #require(SQLiteRunLock.holder(statePath: path), "the holder is recorded beside the state")
        #expect(holder.pid == Int(getpid()))
        #expect(throws: StoreError.locked(state: path, holder: holder.description)) { try SQLiteCheckpointStore(path: path, access: .run) }
        await run.endRun()
        #expect(try await !reader.isRunActive())
        #expect(SQLiteRunLock.holder(statePath: path) == nil, "a run that lets go removes its record")
        _ = try SQLiteCheckpointStore(path: path, access: .run)
    }

    @Test func aStateURLThisVersionCannotUseIsAConfigurationError() throws {
        #expect(throws: StoreError.unsupportedLocation(scheme: "mysql")) { try StoreLocation("mysql://db/batch") }
        #expect(ExitTable.jobError(for: StoreError.unsupportedLocation(scheme: "mysql")).code == .configuration)
        // A URL in the job file is kept as it is, not resolved as a path beside the job file.
        let job = try JobFile.parse("kind: number-verify\nmanifest: n.csv\nstate: postgresql://u@db.internal/batch\n", path: "/jobs/nv.yml")
        #expect(job.state == "postgresql://u@db.internal/batch")
        let location = try? StoreLocation("/var/lib/batch-runner/state.sqlite")
        #expect(location == .sqlite(path: "/var/lib/batch-runner/state.sqlite"))
    }
}
