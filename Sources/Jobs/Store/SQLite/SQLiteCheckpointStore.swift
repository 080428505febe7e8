import Foundation
import GRDB
import Synchronization

/// The checkpoint store in one SQLite file (WAL, `synchronous=NORMAL`, mode 0600), through GRDB.
///
/// WAL with `synchronous=NORMAL` keeps every committed transaction across a killed process; only a power loss can
/// take back the last commits, which then are simply done again. The one exception is the sending mark of a
/// creation (``markSending(_:)``), synced before the request leaves, since a creation must never be done again.
package final class SQLiteCheckpointStore: CheckpointStore {
    let queue: DatabaseQueue
    let path: String
    /// The run lock, while this process works the state.
    private let lock = Mutex<SQLiteRunLock?>(nil)
    /// The last work item handed out: one process works a SQLite state, so claims are a cursor in memory.
    private let claimed = Mutex<Int64>(0)
    /// The commit count beside the database, while this process works the state.
    private let generation: SQLiteCommitGeneration?

    /// Opens (creating when needed) the store at `path`; `":memory:"` for a private in-memory store.
    ///
    /// - Parameter access: `.run` takes the run lock before the database is opened (or migrated), so a second
    ///   run changes nothing.
    /// - Throws: ``StoreError/locked(state:)`` when another run holds the lock; GRDB's errors when the file cannot be opened.
    package init(path: String, access: StoreAccess = .inspect) throws {
        self.path = path
        let isFile = path != ":memory:"
        var isFresh = !isFile
        if isFile {
            try SQLiteRunLock.refuseLink(path)
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if access == .run {
                let taken = try SQLiteRunLock(statePath: path)
                lock.withLock { $0 = taken }
                isFresh = taken.createdFile
            } else if !FileManager.default.fileExists(atPath: path) {
                isFresh = true
            }
            let descriptor = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                let size = FileStatus.size(descriptor: descriptor)
                fchmod(descriptor, 0o600)
                Glibc.close(descriptor)
                // A state is never empty once made: an empty file was truncated or replaced, and would start over.
                if size == 0, !isFresh {
                    throw StoreError.stateDamaged(state: path, problem: "is empty (0 bytes): it was truncated or replaced, and holds no progress")
                }
            }
        }
        var configuration = Configuration()
        // `status` may open the state while a run's intake holds it (rollback journal, see replaceIntake): it
        // waits for the intake to commit rather than failing at once.
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            queue = isFile ? try DatabaseQueue(path: path, configuration: configuration) : try DatabaseQueue(configuration: configuration)
            if isFile {
                try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
                try Self.verify(queue, path: path)
            }
            try Self.migrator.migrate(queue)
            generation = isFile && access == .run ? try SQLiteCommitGeneration(statePath: path, queue: queue) : nil
        } catch let error as DatabaseError {
            throw Self.describe(error, path: path)
        }
    }

    /// Before a run trusts the state: SQLite's `quick_check`, and no migration this version does not know.
    private static func verify(_ queue: DatabaseQueue, path: String) throws {
        try queue.read { db in
            let answers = try String.fetchAll(db, sql: "PRAGMA quick_check(3)")
            guard answers == ["ok"] else {
                throw StoreError.stateDamaged(state: path, problem: "is damaged (SQLite's quick_check: \(answers.joined(separator: "; ").prefix(300)))")
            }
            if try migrator.hasBeenSuperseded(db) {
                throw StoreError.stateDamaged(state: path, problem: "was written by a newer batch-runner (it holds changes this version does not know); run that version")
            }
        }
    }

    /// What a SQLite error at opening says about the file.
    private static func describe(_ error: DatabaseError, path: String) -> any Error {
        switch error.resultCode {
        case .SQLITE_NOTADB: StoreError.stateDamaged(state: path, problem: "is not a SQLite database (another file, or overwritten?)")
        case .SQLITE_CORRUPT: StoreError.stateDamaged(state: path, problem: "is damaged (SQLite: \(error.message ?? "database disk image is malformed"))")
        case .SQLITE_FULL: FileSystemError(path: path, "Cannot write the state \(path): the disk is full. Free some space and run again; nothing is lost.")
        default: error
        }
    }

    /// Raises the commit generation inside a write transaction; call ``recordGeneration(_:)`` with the answer after it.
    func raiseGeneration(_ db: Database) throws -> Int64? {
        guard generation != nil else { return nil }
        return try SQLiteCommitGeneration.raise(db)
    }

    func recordGeneration(_ value: Int64?) {
        if let value { generation?.record(value) }
    }

    // MARK: Runs and claims

    package func endRun() async {
        lock.withLock { $0 = nil }
        resetClaims()
    }

    /// Every pending item may be claimed again (a fresh intake, a requeue, the end of a run).
    func resetClaims() {
        claimed.withLock { $0 = 0 }
    }

    package func isRunActive() async throws -> Bool {
        if lock.withLock({ $0 != nil }) { return true }
        return path != ":memory:" && SQLiteRunLock.isHeld(statePath: path)
    }

    package func claim(limit: Int) async throws -> [WorkItem] {
        try await queue.read { db in
            let after = self.claimed.withLock { $0 }
            let items = try Row.fetchAll(
                db,
                sql: "SELECT id, value, payload, attempts FROM work WHERE state = 0 AND id > ? ORDER BY id LIMIT ?",
                arguments: [after, limit]
            ).map { WorkItem(id: $0[0], value: $0[1], payload: $0[2], attempts: $0[3]) }
            if let last = items.last { self.claimed.withLock { $0 = last.id } }
            return items
        }
    }

    // MARK: Work

    package func complete(_ completions: [WorkCompletion], quota: StoredQuota?) async throws {
        guard !completions.isEmpty || quota != nil else { return }
        let now = Date().timeIntervalSince1970
        let generation = try await queue.write { db in
            let update = try db.cachedStatement(
                sql: "UPDATE work SET state = ?, attempts = ?, result = ?, error = ?, updated_at = ? WHERE id = ?"
            )
            for completion in completions {
                update.setUncheckedArguments([
                    completion.state.rawValue, completion.attempts, StoredFields.encode(completion.result), completion.error, now, completion.id,
                ])
                try update.execute()
            }
            if completions.contains(where: { !$0.files.isEmpty }) {
                let forget = try db.cachedStatement(sql: "DELETE FROM files WHERE work_id = ?")
                let record = try db.cachedStatement(
                    sql: """
                        INSERT OR REPLACE INTO files
                            (path, work_id, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                )
                for completion in completions where !completion.files.isEmpty {
                    forget.setUncheckedArguments([completion.id])
                    try forget.execute()
                    for file in completion.files {
                        record.setUncheckedArguments([
                            file.path, completion.id, file.kind, file.sha256, file.bytes, file.requestedAt, file.apiPath,
                            file.httpStatus, file.apiVersion, file.contentType,
                        ])
                        try record.execute()
                    }
                }
            }
            if let quota { try Self.save(quota, in: db) }
            return completions.isEmpty ? nil : try self.raiseGeneration(db)
        }
        recordGeneration(generation)
    }

    /// The mark is durable before this returns, whatever befalls the machine after: its transaction commits with
    /// `synchronous=FULL` (the `-wal` file synced), and the commit count beside the state is synced too. A
    /// creation the mark announced is then never taken for one that was never sent, even after a power cut; the
    /// rest of the run stays on `NORMAL`.
    ///
    /// - Throws: ``StoreError/rowTaken(state:)`` when the row is no longer pending (another process sent it).
    package func markSending(_ id: Int64) async throws {
        let generation = try await queue.writeWithoutTransaction { db -> Int64? in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var generation: Int64?
            try db.inTransaction {
                try db.execute(sql: "UPDATE work SET state = ? WHERE id = ? AND state = 0", arguments: [WorkState.sending.rawValue, id])
                guard db.changesCount == 1 else { throw StoreError.rowTaken(state: self.path) }
                generation = try self.raiseGeneration(db)
                return .commit
            }
            return generation
        }
        if let generation { try self.generation?.recordDurably(generation) }
    }

    package func settleInterruptedSends(error: String) async throws -> Int {
        let (settled, generation) = try await queue.write { db in
            try db.execute(
                sql: "UPDATE work SET state = ?, error = ? WHERE state = ?",
                arguments: [WorkState.unknown.rawValue, error, WorkState.sending.rawValue]
            )
            let settled = db.changesCount
            return (settled, settled > 0 ? try self.raiseGeneration(db) : nil)
        }
        recordGeneration(generation)
        return settled
    }

    package func requeue(_ states: [WorkState]) async throws -> Int {
        guard !states.isEmpty else { return 0 }
        let (requeued, generation) = try await queue.write { db in
            let list = states.map { String($0.rawValue) }.joined(separator: ",")
            try db.execute(sql: "UPDATE work SET state = 0, error = NULL WHERE state IN (\(list))")
            self.resetClaims()
            let requeued = db.changesCount
            return (requeued, requeued > 0 ? try self.raiseGeneration(db) : nil)
        }
        recordGeneration(generation)
        return requeued
    }

    package func counts() async throws -> StateCounts {
        try await queue.read { db in
            var counts = StateCounts()
            let totals = try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key IN ('rows', 'rejected', 'reused')")
            for total in totals {
                let value = Int(total[1] as String) ?? 0
                switch total[0] as String {
                case "rows": counts.rows = value
                case "rejected": counts.rejected = value
                default: counts.reused = value
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT state, rows, items FROM state_counts") {
                let rows: Int = row[1]
                switch WorkState(rawValue: row[0]) {
                case .succeeded: counts.succeeded += rows
                case .failed: counts.failed += rows
                case .notFound: counts.notFound += rows
                case .unknown, .sending: counts.unknown += rows
                case .pending, nil:
                    counts.pending += rows
                    counts.pendingWork += row[2] as Int
                }
            }
            return counts
        }
    }

}
