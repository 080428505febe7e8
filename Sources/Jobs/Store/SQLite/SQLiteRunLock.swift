import Foundation

/// An exclusive lock on a state database, held for the whole run, so two runs (an overlapping cron start, say)
/// never work on the same state. `flock` locks die with the process, so a killed run never leaves a stale lock.
package final class SQLiteRunLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock on `<statePath>.lock` without waiting.
    ///
    /// - Throws: ``StoreError/locked(state:)`` when another run holds it; ``FileSystemError`` when the lock file
    ///   cannot be created.
    package init(statePath: String) throws {
        let path = statePath + ".lock"
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FileSystemError(path: path, "Cannot create the lock file \(path) (\(String(cString: strerror(errno)))); check that the state folder is writable.")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw StoreError.locked(state: statePath)
        }
        self.descriptor = descriptor
    }

    /// Whether some run holds the lock on `statePath` now (for `status`).
    package static func isHeld(statePath: String) -> Bool {
        let descriptor = open(statePath + ".lock", O_RDONLY | O_CLOEXEC)
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
