package import Foundation

/// A real PostgreSQL server for the tests: Debian's `postgresql`, a throwaway cluster in a temporary folder on a
/// free loopback port, stopped at the end. `scripts/test.sh` installs it.
///
/// The cluster checks passwords over TCP (scram-sha-256) and trusts its own Unix socket, where the tests set it up
/// as its superuser. It offers TLS with a certificate for `localhost` and `127.0.0.1` made at start by a CA of its
/// own (``caPath``), so a test can reach it with `sslmode=verify-full`. The runner logs in as `runner`, who is not a superuser and owns the database `batch`: the
/// rights a real deployment gives it.
package final class PostgresServer: @unchecked Sendable {
    package static let user = "runner"
    package static let password = "runner-secret"
    package static let database = "batch"

    package let port: Int
    package let folder: String
    /// The PEM certificate of the CA that signed the server's certificate: what `http.ca_file` names to trust it.
    package let caPath: String
    private let binaries: String

    /// The server every test of a process can share (each test works its own campaign); started on first use.
    package static func shared() throws -> PostgresServer {
        try sharedServer.withLock { server in
            if let server { return server }
            let started = try PostgresServer()
            server = started
            return started
        }
    }
    private static let sharedServer = LockedServer()

    /// Makes a cluster and starts it.
    package init() throws {
        guard let binaries = Self.binaries else {
            throw POSIXError(.ENOENT, "PostgreSQL is not installed: run `bash scripts/install-dependencies.sh --tests` (Debian's postgresql)")
        }
        self.binaries = binaries
        folder = NSTemporaryDirectory() + "batch-runner-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        port = try FreePort.pick()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Self.giveToPostgres(folder)
        try FileManager.default.createDirectory(atPath: folder + "/tls", withIntermediateDirectories: true)
        let certificates = try TestCertificates(folder: folder + "/tls", caName: "batch-runner test PostgreSQL CA")
        let server = try certificates.server(named: ["localhost", "127.0.0.1"])
        caPath = certificates.caPath
        // The server refuses a key others can read; it runs as postgres.
        chmod(server.keyPath, 0o600)
        for path in [folder + "/tls", server.certificatePath, server.keyPath] { try Self.giveToPostgres(path) }
        try asPostgres(
            "initdb", "-D", folder + "/data", "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
            "--no-sync", "--no-instructions"
        )
        try start()
        try spawnWatchdog()
        try psql("CREATE ROLE \(Self.user) LOGIN PASSWORD '\(Self.password)'")
        try psql("CREATE DATABASE \(Self.database) OWNER \(Self.user)")
    }

    deinit { stop() }

    /// `postgresql://runner@127.0.0.1:<port>/batch?sslmode=disable` (the password comes from the environment).
    package var url: String { "postgresql://\(Self.user)@127.0.0.1:\(port)/\(Self.database)?sslmode=disable" }

    /// Starts the (stopped) server and waits until it accepts connections. `fsync=off` only: a stop in
    /// immediate mode is a crash of the server, not of the machine, so every commit the runner saw stays.
    package func start() throws {
        try asPostgres(
            "pg_ctl", "-D", folder + "/data", "-l", folder + "/server.log", "-w", "-o",
            "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
                + " -c ssl=on -c ssl_cert_file=\(folder)/tls/server.pem -c ssl_key_file=\(folder)/tls/server-key.pem",
            "start"
        )
    }

    /// Stops the server at once (as a crash would; what was committed stays).
    package func stop() {
        _ = try? asPostgres("pg_ctl", "-D", folder + "/data", "-m", "immediate", "-w", "stop")
    }

    /// The server's processes: the postmaster and every child (backends, checkpointer, walwriter, ...).
    package func processes() -> [pid_t] {
        guard let text = try? String(contentsOfFile: folder + "/data/postmaster.pid", encoding: .utf8),
            let postmaster = text.split(separator: "\n").first.flatMap({ pid_t($0) })
        else { return [] }
        return [postmaster] + ProcessTree.children(of: postmaster)
    }

    /// Freezes the server (SIGSTOP to every process, as a stalled host or storage volume would): connections stay
    /// open and nothing answers. ``thaw()`` lets it go on.
    package func freeze() {
        for pid in processes() { kill(pid, SIGSTOP) }
    }

    package func thaw() {
        for pid in processes() { kill(pid, SIGCONT) }
    }

    /// Runs `sql` as the cluster's superuser, in database `database`; answers its unaligned output.
    @discardableResult
    package func psql(_ sql: String, database: String = "postgres") throws -> String {
        try asPostgres("psql", "-h", folder, "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql)
    }

    /// Starts `psql -c sql` as the superuser without waiting for it (a session that holds a lock); kill it to end.
    package func startPsql(_ sql: String, database: String = "postgres") throws -> Process {
        let process = Process()
        let psql = [binaries + "/psql", "-h", folder, "-p", String(port), "-U", "postgres", "-d", database, "-qAt", "-c", sql]
        if geteuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--"] + psql
        } else {
            process.executableURL = URL(fileURLWithPath: psql[0])
            process.arguments = Array(psql.dropFirst())
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// How long one of the server's programs may run (`pg_ctl -w` itself gives up after 60 s).
    private static let programTimeLimit = Duration.seconds(120)

    /// Runs one of the server's programs (as `postgres` when this process is root) and answers its output.
    /// posix_spawn and waitpid, not Foundation's Process: its exit monitoring hung inside an async test.
    @discardableResult
    private func asPostgres(_ tool: String, _ arguments: String...) throws -> String {
        let isRoot = geteuid() == 0
        let argv = (isRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []) + [binaries + "/" + tool] + arguments
        let outputPath = folder + "/\(tool)-\(UUID().uuidString.prefix(8)).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid = pid_t()
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw POSIXError(.ENOEXEC, "cannot start \(tool): \(String(cString: strerror(spawned)))") }
        // Bounded: a psql that waits for a lock or a frozen server must fail its test, never hang the suite.
        var status: Int32 = 0
        let deadline = ContinuousClock.now.advanced(by: Self.programTimeLimit)
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno != EINTR) { break }
            if ContinuousClock.now >= deadline {
                ProcessTree.kill(pid)
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                unlink(outputPath)
                throw POSIXError(.ETIMEDOUT, "\(tool) did not end within \(Self.programTimeLimit): killed")
            }
            usleep(5_000)
        }
        let text = ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        unlink(outputPath)
        let exited = status & 0x7f == 0
        guard exited, (status >> 8) & 0xff == 0 else {
            throw POSIXError(.EIO, "\(tool) failed (status \(status)): \(text.suffix(600))")
        }
        return text
    }

    /// A shell that stops the server and removes its folder once this process is gone, however it ends (a test
    /// process may end without running deinits or exit handlers, and a crashed one runs nothing).
    private func spawnWatchdog() throws {
        let stop = (geteuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : "") + "\(binaries)/pg_ctl -D '\(folder)/data' -m immediate -w stop"
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf '\(folder)'"
        let argv = ["/bin/sh", "-c", script]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_RDWR, 0) }
        var pid = pid_t()
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw POSIXError(.ENOEXEC, "cannot start the server's watchdog") }
    }

    /// initdb refuses root: as root, the cluster belongs to the `postgres` user.
    private static func giveToPostgres(_ path: String) throws {
        guard geteuid() == 0, let account = getpwnam("postgres") else { return }
        guard chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else { throw POSIXError(.EPERM, "cannot give \(path) to postgres") }
    }

    /// The newest installed version's programs.
    static let binaries: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.last.map { "\(root)/\($0)/bin" }.flatMap { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") ? $0 : nil }
    }()
}

private final class LockedServer: @unchecked Sendable {
    private let lock = NSLock()
    private var server: PostgresServer?

    func withLock<T>(_ body: (inout PostgresServer?) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&server)
    }
}

extension POSIXError {
    init(_ code: POSIXErrorCode, _ message: String) {
        self.init(code, userInfo: [NSLocalizedDescriptionKey: message])
    }
}
