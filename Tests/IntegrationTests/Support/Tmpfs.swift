import Foundation

/// A tmpfs mounted for one test (the tests run as root in CI): a read-only folder, or a small disk that fills
/// up. Unmounted when the test ends.
final class Tmpfs {
    let path: String

    /// Mounts a tmpfs of `kilobytes`, read-only when asked.
    init(kilobytes: Int, readOnly: Bool = false) throws {
        path = NSTemporaryDirectory() + "batch-runner-tmpfs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Self.mount(["-t", "tmpfs", "-o", "\(readOnly ? "ro," : "")size=\(kilobytes)k,mode=0700", "tmpfs", path])
    }

    /// Grows (or shrinks) the mounted file system.
    func resize(kilobytes: Int) throws {
        try Self.mount(["-o", "remount,size=\(kilobytes)k", path])
    }

    deinit {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = ["-l", path]
        try? process.run()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Whether this process may mount (root).
    static var isAvailable: Bool { geteuid() == 0 }

    private static func mount(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw MountFailed(arguments: arguments) }
    }

    struct MountFailed: Error {
        let arguments: [String]
    }
}
