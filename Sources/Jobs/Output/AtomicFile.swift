import Foundation

/// Writes a file so that readers only ever see the old version or the complete new one: the bytes go to a
/// temporary file beside it (mode 0600), are flushed to disk, and are renamed over the target.
package struct AtomicFile {
    package let path: String
    private let temporaryPath: String
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    private init(path: String) throws(JobError) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw JobError(.ioError, "Cannot create the folder \(folder); check that it is writable.")
        }
        temporaryPath = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        descriptor = open(temporaryPath, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw JobError(.ioError, "Cannot write \(path) (\(String(cString: strerror(errno)))); check that its folder is writable.")
        }
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    /// Writes `path` atomically with what `body` appends.
    package static func write(path: String, _ body: (inout AtomicFile) throws -> Void) throws {
        var file = try AtomicFile(path: path)
        do {
            try body(&file)
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }

    /// Writes `path` atomically with what `body` appends, for bodies that await (streaming from the store).
    package static func write(path: String, _ body: (inout AtomicFile) async throws -> Void) async throws {
        var file = try AtomicFile(path: path)
        do {
            try await body(&file)
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }

    /// Writes `path` atomically with `bytes`.
    package static func write(path: String, bytes: some Collection<UInt8>) throws {
        try write(path: path) { $0.append(bytes) }
    }

    /// Removes the temporary files a killed writer left in `folder` (`.<name>.tmp-<pid>`); answers how many.
    @discardableResult
    package static func removeStaleTemporaryFiles(in folder: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            if unlink(folder + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    package mutating func append(_ bytes: some Collection<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ text: String) {
        buffer.append(contentsOf: text.utf8)
    }

    /// Writes the buffer out once it is large; call after appending a record.
    package mutating func flushIfLarge() throws(JobError) {
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    private mutating func flush() throws(JobError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw JobError(.ioError, "Cannot write \(path) (\(String(cString: strerror(errno)))); is the disk full?")
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func commit() throws(JobError) {
        try flush()
        guard fsync(descriptor) == 0, close(descriptor) == 0 else {
            throw JobError(.ioError, "Cannot write \(path) (\(String(cString: strerror(errno)))); is the disk full?")
        }
        guard rename(temporaryPath, path) == 0 else {
            throw JobError(.ioError, "Cannot replace \(path) (\(String(cString: strerror(errno)))).")
        }
        let folder = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    private func abandon() {
        close(descriptor)
        unlink(temporaryPath)
    }
}
