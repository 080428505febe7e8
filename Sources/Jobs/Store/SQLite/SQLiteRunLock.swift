import Foundation

/// An exclusive lock on a state database, held for the whole run, so two runs (an overlapping cron start, say)
/// never work on the same state. It is a `flock` on the database file itself, so a second path to the same file
/// (a symbolic link to its folder, a bind mount) meets the same lock; `flock` locks die with the process, so a
/// killed run never leaves a stale lock. (SQLite's own locks are POSIX record locks, which `flock` does not touch.)
///
/// The holder writes who it is (pid, host, start) to `<state>.lock` and removes it when it lets go: a second run
/// names the holder, and a `.lock` left behind by no holder is a run that ended without an exit (killed).
package final class SQLiteRunLock: Sendable {
    /// Who holds (or last held, without letting go) a state's lock.
    package struct Holder: Sendable, Equatable, CustomStringConvertible {
        package var pid: Int
        package var host: String
        package var startedAt: Double

        /// `pid 1234 on host-a, since 2026-12-07T20:53:23Z`.
        package var description: String {
            "pid \(pid) on \(host), since \(Date(timeIntervalSince1970: startedAt).formatted(.iso8601))"
        }
    }

    private let descriptor: Int32
    private let holderPath: String
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
            throw StoreError.locked(state: statePath, holder: Self.holder(statePath: statePath)?.description)
        }
        self.descriptor = descriptor
        self.createdFile = created
        self.holderPath = statePath + ".lock"
        let me = "\(getpid())\n\(ProcessInfo.processInfo.hostName)\n\(Date().timeIntervalSince1970)\n"
        let file = open(holderPath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if file >= 0 {
            _ = Array(me.utf8).withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
            close(file)
        }
    }

    /// The holder `<state>.lock` names: the run holding the lock, or, when none holds it, the last run that
    /// ended without letting go (killed).
    package static func holder(statePath: String) -> Holder? {
        guard FileStatus.ofLink(statePath + ".lock") == .regular,
            let text = try? String(contentsOfFile: statePath + ".lock", encoding: .utf8)
        else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, let pid = Int(lines[0]), let startedAt = Double(lines[2]) else { return nil }
        return Holder(pid: pid, host: String(lines[1].prefix(255)), startedAt: startedAt)
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
        unlink(holderPath)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
