import Foundation
import GRDB

/// Detects a state that lost committed progress. Every transaction that records progress (a row sent or
/// finished, a requeue, an intake) raises a counter in the database, and the new value is then written to a
/// file beside it (`<state>.generation`). A database behind that file was rolled back: its `-wal` file was deleted
/// or damaged after a crash, or an older copy was put back; its finished rows would be sent again.
///
/// The file is written after the commit, so a crash between the two leaves the database ahead, which is fine.
/// Usually no fsync: a killed process loses nothing the kernel has; after a power loss SQLite itself may lose the
/// last commits (`synchronous=NORMAL`), and the check then says so rather than resend them silently. A sending
/// mark is recorded durably (the file synced, its folder synced when the file was made), with its commit.
final class SQLiteCommitGeneration: Sendable {
    private let descriptor: Int32
    let path: String

    /// Opens the file beside `statePath` and compares it with the database's counter.
    ///
    /// - Throws: ``StoreError/stateDamaged(state:problem:)`` when the database is behind the file.
    init(statePath: String, queue: DatabaseQueue) throws {
        path = statePath + ".generation"
        if ![.missing, .regular].contains(FileStatus.ofLink(path)) {
            throw FileSystemError(path: path, "\(path) is not a regular file (a symbolic link?); batch-runner keeps its commit count there. Remove it and run again.")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FileSystemError(path: path, "Cannot open \(path) (\(String(cString: strerror(errno)))); check that the state folder is writable.")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        let text = String(decoding: bytes.prefix(max(count, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let recorded = Int64(text) ?? 0
        let current = try queue.read { db in try Self.current(db) }
        if recorded > current {
            close(descriptor)
            let commits = recorded - current
            throw StoreError.stateDamaged(
                state: statePath,
                problem: "was rolled back by \(commits) commit\(commits == 1 ? "" : "s") (\(path) counts \(recorded), the database \(current)): its -wal file was deleted or damaged after a crash, or an older copy was put back, and rows it had finished would be sent again"
            )
        }
        self.descriptor = descriptor
        if recorded < current { record(current) }
        // The file's name must survive a power cut too, once a durable record relies on it.
        let folder = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    deinit { close(descriptor) }

    /// Raises the database's counter in the current transaction; answers the new value, for ``record(_:)`` after the commit.
    static func raise(_ db: Database) throws -> Int64 {
        try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
        return try current(db)
    }

    static func current(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'") ?? 0
    }

    /// Writes a committed value to the file (fixed width, so a shorter value never leaves digits behind).
    func record(_ generation: Int64) {
        var text = Array(String(generation).utf8)
        text = [UInt8](repeating: UInt8(ascii: " "), count: max(0, 20 - text.count)) + text + [0x0A]
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Writes a committed value and syncs it to disk before answering.
    ///
    /// - Throws: ``FileSystemError`` when the system cannot sync it (the row is then not sent).
    func recordDurably(_ generation: Int64) throws(FileSystemError) {
        record(generation)
        guard fdatasync(descriptor) == 0 else {
            throw FileSystemError(path: path, "Cannot sync \(path) to disk (\(String(cString: strerror(errno)))); check the disk holding the state. The row was not sent.")
        }
    }
}
