import Foundation

/// A manifest opened for reading with POSIX calls, refusing what is not a regular file.
struct ManifestFile {
    private let descriptor: Int32
    let path: String

    init(path: String) throws(JobError) {
        self.path = path
        // O_NONBLOCK: opening a named pipe would otherwise wait for a writer, forever; it is refused below.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let reason = switch errno {
            case ENOENT: "does not exist"
            case ELOOP: "cannot be opened: it is a symbolic link that leads back to itself"
            default: "cannot be opened (\(String(cString: strerror(errno))))"
            }
            throw JobError(.manifestUnusable, "Manifest \(path) \(reason); check the `manifest` key or --manifest.")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(descriptor)
            throw JobError(.manifestUnusable, "Manifest \(path) is not a regular file (a folder, a pipe or a device?); point `manifest` at a CSV file.")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        self.descriptor = descriptor
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    func read(into buffer: inout [UInt8]) throws(JobError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw JobError(.manifestUnusable, "Manifest \(path) cannot be read (\(String(cString: strerror(errno)))).")
        }
    }

    func close() { Glibc.close(descriptor) }
}
