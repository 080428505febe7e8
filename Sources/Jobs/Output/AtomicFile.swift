import Foundation
import SystemPackage

/// Writes a file so that readers only ever see the old version or the complete new one: the bytes go to a
/// temporary file beside it (mode 0600, a random name, created exclusively and never through a symbolic link),
/// are flushed to disk, and are renamed over the target. The temporary file is made, renamed and synced
/// relative to one descriptor of the folder, so a folder swapped for a link meanwhile changes nothing.
package struct AtomicFile {
    package let path: String
    private let name: String
    private let temporaryName: String
    /// The folder the file goes in, opened once.
    private let folder: Int32
    private let descriptor: FileDescriptor
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    private init(path: String) throws(FileSystemError) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FileSystemError(path: folder, "Cannot create the folder \(folder); check that it is writable.")
        }
        name = url.lastPathComponent
        temporaryName = "." + name + ".tmp-\(getpid())-\(UInt64.random(in: .min ... .max))"
        self.folder = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard self.folder >= 0 else {
            throw FileSystemError(path: path, "Cannot write \(path) (\(String(cString: strerror(errno)))); check that its folder is writable.")
        }
        let created = openat(self.folder, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard created >= 0 else {
            let reason = String(cString: strerror(errno))
            close(self.folder)
            throw FileSystemError(path: path, "Cannot write \(path) (\(reason)); check that its folder is writable.")
        }
        descriptor = FileDescriptor(rawValue: created)
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    /// Writes `path` atomically with what `body` appends.
    package static func write(path: String, _ body: (inout AtomicFile) throws -> Void) throws {
        var file = try AtomicFile(path: path)
        do {
            try body(&file)
        } catch {
            file.abandon()
            throw error
        }
        try file.commit()
    }

    /// Writes `path` atomically with what `body` appends, for bodies that await (streaming from the store).
    package static func write(path: String, _ body: (inout AtomicFile) async throws -> Void) async throws {
        var file = try AtomicFile(path: path)
        do {
            try await body(&file)
        } catch {
            file.abandon()
            throw error
        }
        try file.commit()
    }

    /// Writes `path` atomically with `bytes`.
    package static func write(path: String, bytes: some Collection<UInt8>) throws {
        try write(path: path) { $0.append(bytes) }
    }

    /// Removes the temporary files a killed writer left in `folder`: only this program's own names
    /// (`.<name>.tmp-<pid>-<random>`) whose process is gone, so a live worker sharing the folder keeps its own.
    /// Answers how many.
    @discardableResult
    package static func removeStaleTemporaryFiles(in folder: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var removed = 0
        for name in names {
            guard let pid = writerProcess(ofTemporaryName: name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if unlink(folder + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// The process that made `name`, when it is one of this program's temporary names (`.<name>.tmp-<pid>-<digits>`).
    static func writerProcess(ofTemporaryName name: String) -> pid_t? {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { return nil }
        let parts = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, !parts[1].isEmpty, parts[1].allSatisfy(\.isNumber) else { return nil }
        return pid
    }

    package mutating func append(_ bytes: some Collection<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ text: String) {
        buffer.append(contentsOf: text.utf8)
    }

    /// Writes the buffer out once it is large; call after appending a record.
    package mutating func flushIfLarge() throws(FileSystemError) {
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    private mutating func flush() throws(FileSystemError) {
        do {
            _ = try descriptor.writeAll(buffer)
        } catch {
            throw FileSystemError(path: path, "Cannot write \(path) (\(Self.reason(error))); is the disk full?")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the file into place; on any failure the temporary file is removed.
    private mutating func commit() throws(FileSystemError) {
        do {
            try flush()
        } catch {
            abandon()
            throw error
        }
        // swift-system has no fsync.
        guard fsync(descriptor.rawValue) == 0 else {
            let reason = String(cString: strerror(errno))
            abandon()
            throw FileSystemError(path: path, "Cannot write \(path) (\(reason)); is the disk full?")
        }
        do {
            try descriptor.close()
        } catch {
            unlinkat(folder, temporaryName, 0)
            close(folder)
            throw FileSystemError(path: path, "Cannot write \(path) (\(Self.reason(error))); is the disk full?")
        }
        guard renameat(folder, temporaryName, folder, name) == 0 else {
            let reason = String(cString: strerror(errno))
            unlinkat(folder, temporaryName, 0)
            close(folder)
            throw FileSystemError(path: path, "Cannot replace \(path) (\(reason)).")
        }
        fsync(folder)
        close(folder)
    }

    private func abandon() {
        try? descriptor.close()
        unlinkat(folder, temporaryName, 0)
        close(folder)
    }

    /// The system's words for a failed call (`No space left on device`).
    private static func reason(_ error: any Error) -> String {
        (error as? Errno).map { String(cString: strerror($0.rawValue)) } ?? "\(error)"
    }
}
