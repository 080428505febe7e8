import Foundation

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

/// Free loopback ports for servers the tests start.
enum FreePort {
    /// A port nothing listens on now (the kernel's pick for an ephemeral bind, released at once).
    static func pick() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The IPv4 loopback address with `port` (0: any).
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }

    /// Returns once something accepts connections on `port` (at most 10 s: a server that does not start fails the
    /// test instead of hanging it).
    static func waitUntilListening(_ port: Int) throws {
        let deadline = Date() + 10
        while Date() < deadline {
            let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port: port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(socket)
            if connected { return }
            usleep(20_000)
        }
        throw POSIXError(.ETIMEDOUT)
    }
}
