import Foundation
import TestSupport

/// A real HTTP proxy for the tests: Debian's tinyproxy on a free loopback port, with its own configuration and
/// log in a temporary folder. `scripts/test.sh` installs it; where it is missing, the tests that need it are
/// skipped (``isInstalled``).
final class Tinyproxy: @unchecked Sendable {
    static let executable = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var isInstalled: Bool { executable != nil }

    let port: Int
    let logPath: String
    private let process = Process()

    /// Starts a proxy that wants `user`/`password` with Basic authentication when given.
    init(user: String? = nil, password: String? = nil) throws {
        guard let executable = Self.executable else { throw CocoaError(.fileNoSuchFile) }
        let folder = try Workspace().folder
        port = try FreePort.pick()
        logPath = folder + "/tinyproxy.log"
        var configuration = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            LogFile "\(logPath)"
            LogLevel Connect
            MaxClients 200

            """
        if let user, let password { configuration += "BasicAuth \(user) \(password)\n" }
        try configuration.write(toFile: folder + "/tinyproxy.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-d", "-c", folder + "/tinyproxy.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try FreePort.waitUntilListening(port)
    }

    deinit {
        stop()
    }

    /// Stops the proxy and waits for it to exit. Tests call it in a `defer`: the test process may end before a
    /// deinit would run, and a proxy left behind would outlive the suite.
    func stop() {
        guard process.isRunning else { return }
        // SIGKILL: the test process ignores SIGTERM, and a child inherits that (a SIGTERM would not stop it).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// `http://[user:password@]127.0.0.1:port`
    func url(user: String? = nil, password: String? = nil) -> String {
        let credentials = user.map { "\($0):\(password ?? "")@" } ?? ""
        return "http://\(credentials)127.0.0.1:\(port)"
    }

    /// The lines tinyproxy logged for requests: `CONNECT host:port HTTP/1.1` for tunnels, `GET http://...` for
    /// plain requests.
    var requestLines: [String] {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "Request (file descriptor ") else { return nil }
            return line[range.upperBound...].split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }
}
