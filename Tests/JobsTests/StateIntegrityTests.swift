import Foundation
import GRDB
import Testing
import TestSupport

@testable import Jobs

/// A SQLite state that is damaged, emptied, rolled back, from a newer runner or reached through a link is never
/// trusted: opening it for a run fails with one clear problem (exit 74) before any request.
@Suite struct StateIntegrityTests {
    let rows = (1...6).map { IntakeRow(row: $0, key: "k\($0)", value: "3161111111\($0)") }

    /// A state with six pending items, closed.
    func makeState() async throws -> String {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        let store = try SQLiteCheckpointStore(path: path, access: .run)
        try await store.replaceIntake(rows: rows, duplicateReason: nil)
        await store.endRun()
        return path
    }

    func expectDamaged(_ path: String, saying words: String) {
        #expect {
            _ = try SQLiteCheckpointStore(path: path, access: .run)
        } throws: { error in
            guard case StoreError.stateDamaged(let state, let problem) = error else { return false }
            return state == path && problem.contains(words)
        }
    }

    @Test func garbageIsNotADatabase() throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: URL(fileURLWithPath: path))
        expectDamaged(path, saying: "not a SQLite database")
        #expect(ExitTable.jobError(for: StoreError.stateDamaged(state: path, problem: "x")).code.exitCode == 74)
    }

    @Test func anEmptyFileIsNotAFreshState() throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        expectDamaged(path, saying: "is empty")
    }

    @Test func aMissingFileIsAFreshState() throws {
        let path = try TemporaryFiles.folder() + "/state.sqlite"
        _ = try SQLiteCheckpointStore(path: path, access: .run)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func aTruncatedStateIsRefused() async throws {
        let path = try await makeState()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(truncate(path, off_t(size / 2)) == 0)
        #expect(throws: StoreError.self) { _ = try SQLiteCheckpointStore(path: path, access: .run) }
    }

    @Test func aDamagedPageIsFoundByQuickCheck() async throws {
        let path = try await makeState()
        // Overwrite the b-tree header of the last page (a table or index page) with garbage.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size - 4096)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 64))
        try handle.close()
        expectDamaged(path, saying: "damaged")
    }

    @Test func aStateOfANewerRunnerIsRefused() async throws {
        let path = try await makeState()
        do {
            let store = try SQLiteCheckpointStore(path: path, access: .run)
            try await store.queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        }
        expectDamaged(path, saying: "newer batch-runner")
    }

    @Test func aStateRolledBackBehindItsCommitCountIsRefused() async throws {
        let path = try await makeState()
        let backup = path + ".backup"
        try FileManager.default.copyItem(atPath: path, toPath: backup)
        do {
            let store = try SQLiteCheckpointStore(path: path, access: .run)
            let items = try await store.claim(limit: 3)
            for item in items {
                try await store.markSending(item.id)
                try await store.complete([WorkCompletion(id: item.id, state: .succeeded, attempts: 1, result: ["KPN", "NL", "", ""], error: nil)], quota: nil)
            }
            await store.endRun()
        }
        // What a deleted -wal after a crash does: the database as it was before those commits.
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: backup, toPath: path)
        expectDamaged(path, saying: "rolled back by 6 commits")
    }

    /// A fresh intake (a restart, a recurring job starting over) keeps the commit count: a run killed right after
    /// it, before any commit, leaves a state that opens, not one that looks rolled back.
    @Test func aFreshIntakeKeepsTheCommitCount() async throws {
        let path = try await makeState()
        do {
            let store = try SQLiteCheckpointStore(path: path, access: .run)
            for item in try await store.claim(limit: 3) {
                try await store.complete([WorkCompletion(id: item.id, state: .succeeded, attempts: 1, result: ["KPN", "NL", "", ""], error: nil)], quota: nil)
            }
            try await store.replaceIntake(rows: rows, duplicateReason: nil)
            await store.endRun()
        }
        let reopened = try SQLiteCheckpointStore(path: path, access: .run)
        #expect(try await reopened.counts().pending == 6)
        await reopened.endRun()
    }

    @Test func aStateThatIsALinkIsRefused() async throws {
        let path = try await makeState()
        let link = try TemporaryFiles.folder() + "/state.sqlite"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(throws: FileSystemError.self) { _ = try SQLiteCheckpointStore(path: link, access: .run) }
    }

    @Test func aSecondPathToTheSameStateMeetsTheRunLock() async throws {
        let path = try await makeState()
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let alias = try TemporaryFiles.folder() + "/alias"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: folder)
        let first = try SQLiteCheckpointStore(path: path, access: .run)
        #expect(throws: StoreError.locked(state: alias + "/state.sqlite", holder: SQLiteRunLock.holder(statePath: path)?.description)) {
            _ = try SQLiteCheckpointStore(path: alias + "/state.sqlite", access: .run)
        }
        #expect(try await first.isRunActive())
    }

    @Test func markingARowSendingThatIsNotPendingFails() async throws {
        let path = try await makeState()
        let store = try SQLiteCheckpointStore(path: path, access: .run)
        let item = try #require(try await store.claim(limit: 1).first)
        try await store.markSending(item.id)
        await #expect(throws: StoreError.rowTaken(state: path)) { try await store.markSending(item.id) }
    }
}

extension StateIntegrityTests {
    /// A crash leaves the last commits in the -wal; damage there makes SQLite stop reading it at the bad frame, so
    /// the database comes back without them: the commit count beside it says so.
    @Test func aDamagedWALAfterACrashIsRefused() async throws {
        let path = try await makeState()
        let store = try SQLiteCheckpointStore(path: path, access: .run)
        for item in try await store.claim(limit: 3) {
            try await store.markSending(item.id)
            try await store.complete([WorkCompletion(id: item.id, state: .succeeded, attempts: 1, result: ["KPN", "NL", "", ""], error: nil)], quota: nil)
        }
        // The files as a SIGKILL would leave them, copied while the store is open.
        let crash = try TemporaryFiles.folder() + "/state.sqlite"
        for suffix in ["", "-wal", ".generation"] {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: crash + suffix)
        }
        let wal = try FileHandle(forUpdating: URL(fileURLWithPath: crash + "-wal"))
        try wal.seek(toOffset: 32 + 24 + 100)  // inside the first frame's page (after the WAL and frame headers)
        try wal.write(contentsOf: Data(repeating: 0x77, count: 64))
        try wal.close()
        expectDamaged(crash, saying: "rolled back by 6 commits")
        _ = store
    }

    @Test func restartingIDScanCreateCountsTheRowsTheLastResultsListAsSent() throws {
        let path = try TemporaryFiles.write(
            Array("row,key,status,transaction_id,url,expires,attempts,error\n1,a,ok,t1,u,e,1,\n2,b,failed,,,,1,x\n3,c,unknown,,,,1,y\n4,d,ok,t4,u,e,1,\n".utf8),
            name: "results.csv"
        )
        #expect(DamagedState.rowsSent(resultsCSV: path) == 3)
        #expect(DamagedState.rowsSent(resultsCSV: path + ".missing") == nil)
    }

    @Test func movingAsideKeepsEveryFileUnderOneDatedName() async throws {
        let path = try await makeState()
        let aside = try DamagedState.moveAside(path, now: Date(timeIntervalSince1970: 1_764_700_000))
        #expect(aside == path + ".damaged-20251202T182640Z")
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
