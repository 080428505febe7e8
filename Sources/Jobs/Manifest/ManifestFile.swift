import Foundation
import SystemPackage

/// A manifest opened for reading (swift-system), refusing what is not a regular file.
struct ManifestFile {
    private let descriptor: FileDescriptor
    let path: String

    init(path: String) throws(ManifestError) {
        self.path = path
        // Non-blocking: opening a named pipe would otherwise wait for a writer, forever; it is refused below.
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch {
            let reason = switch error as? Errno {
            case .noSuchFileOrDirectory: "does not exist"
            case .tooManySymbolicLinkLevels: "cannot be opened: it is a symbolic link that leads back to itself"
            default: "cannot be opened (\(Self.reason(error)))"
            }
            throw ManifestError("Manifest \(path) \(reason); check the `manifest` key or --manifest.")
        }
        // swift-system has no stable fstat or fcntl on Linux yet.
        guard FileStatus.of(descriptor: descriptor.rawValue) == .regular else {
            try? descriptor.close()
            throw ManifestError("Manifest \(path) is not a regular file (a folder, a pipe or a device?); point `manifest` at a CSV file.")
        }
        _ = fcntl(descriptor.rawValue, F_SETFL, fcntl(descriptor.rawValue, F_GETFL) & ~O_NONBLOCK)
        self.descriptor = descriptor
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    func read(into buffer: inout [UInt8]) throws(ManifestError) -> Int {
        do {
            return try buffer.withUnsafeMutableBytes { try descriptor.read(into: $0) }
        } catch {
            throw ManifestError("Manifest \(path) cannot be read (\(Self.reason(error))).")
        }
    }

    func close() { try? descriptor.close() }

    private static func reason(_ error: any Error) -> String {
        (error as? Errno).map { String(cString: strerror($0.rawValue)) } ?? "\(error)"
    }
}
