import Foundation

/// An exclusive lock on a state database, held for the whole run, so two runs (an overlapping cron start, say)
/// never work on the same state. It is a `flock` on the database file itself, so a second path to the same file
/// (a symbolic link to its folder, a bind mount) meets the same lock; `flock` locks die with the process, so a
/// killed run never leaves a stale lock. (SQLite's own locks are POSIX record locks, which `flock` does not touch.)
package final class SQLiteRunLock: Sendable {
    private let descriptor: Int32
    /// Whether the database file did not exist and this lock created it (empty): a fresh state, not an emptied one.
    package let createdFile: Bool

    /// Takes the lock on the database at `statePath` (creating the file, mode 0600, when missing) without waiting.
    ///
    /// - Throws: ``StoreError/locked(state:)`` when another run holds it; ``FileSystemError`` when the file cannot be
    ///   opened or created, or is a symbolic link.
    package init(statePath: String) throws {
        try Self.refuseLink(statePath)
        var created = false
        var descriptor = open(statePath, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0, errno == ENOENT {
            descriptor = open(statePath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            created = descriptor >= 0
        }
        guard descriptor >= 0 else {
            throw FileSystemError(path: statePath, "Cannot open the state \(statePath) (\(String(cString: strerror(errno)))); check that it and its folder are writable.")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw StoreError.locked(state: statePath)
        }
        self.descriptor = descriptor
        self.createdFile = created
    }

    /// Refuses a state path (or one of the files SQLite keeps beside it) that is a symbolic link: the runner would
    /// write, chmod and move what it leads to.
    package static func refuseLink(_ statePath: String) throws(FileSystemError) {
        for path in [statePath, statePath + "-wal", statePath + "-shm", statePath + ".lock"] {
            if FileStatus.ofLink(path) == .symbolicLink {
                throw FileSystemError(path: path, "The state \(path) is a symbolic link; batch-runner does not follow it. Point `state` (or --state) at the real file.")
            }
        }
    }

    /// Whether some run holds the lock on `statePath` now (for `status`).
    package static func isHeld(statePath: String) -> Bool {
        let descriptor = open(statePath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return false
        }
        return true
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
