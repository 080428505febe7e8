import Foundation
import Synchronization
import Testing
import TestSupport

/// Runs the real `batch-runner` binary, as a cron job or an operator would.
struct BatchRunnerProcess {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The binary beside the test bundle (`swift build --build-tests` builds both into one folder).
    static var executable: URL {
        let bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [bundleFolder.appendingPathComponent("batch-runner")]
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/batch-runner"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()

    /// - Parameter wrapper: A program that starts the binary, with its arguments (`strace -o trace`): the binary's
    ///   path and `arguments` follow them.
    init(_ arguments: [String], environment: [String: String] = [:], wrapper: [String] = []) {
        if let program = wrapper.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(wrapper.dropFirst()) + [Self.executable.path] + arguments
        } else {
            process.executableURL = Self.executable
            process.arguments = arguments
        }
        var merged = ProcessInfo.processInfo.environment
        merged["KPN_CLIENT_ID"] = nil
        merged["KPN_CLIENT_SECRET"] = nil
        merged["IDSCAN_KEY_ID"] = nil
        merged["IDSCAN_SECRET"] = nil
        // The network path is the test's to set, never the machine's.
        for name in ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"] {
            merged[name] = nil
        }
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
    }

    private let collectedStdout = CollectedOutput()
    private let collectedStderr = CollectedOutput()

    /// Starts the process, and threads that collect its output as it comes.
    func start() throws {
        try process.run()
        collectedStdout.collect(from: stdoutPipe)
        collectedStderr.collect(from: stderrPipe)
    }

    /// What the process wrote to stdout so far.
    var stdoutSoFar: String { collectedStdout.text }
    /// What the process wrote to stderr so far.
    var stderrSoFar: String { collectedStderr.text }

    /// Waits until stderr holds `text`; fails the wait after 30 s.
    func waitForStderr(containing text: String) async throws {
        try await waitUntil { stderrSoFar.contains(text) }
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end and collects its output. A process still running after `limit`, or when the
    /// test ends first (its time limit cancels it), is killed with its children (SIGKILL) and the test fails: a hung
    /// binary fails its test, it never hangs the suite.
    func finish(limit: Duration = .seconds(300)) async -> Outcome {
        let pid = process.processIdentifier
        let (ended, killed) = (Flag(), Flag())
        let outcome = await withTaskGroup(of: Void.self, returning: Outcome.self) { group in
            group.addTask {
                try? await Task.sleep(for: limit)
                guard !ended.isSet else { return }
                killed.set()
                ProcessTree.kill(pid)
            }
            defer { group.cancelAll() }
            async let out = collectedStdout.untilEnd()
            async let err = collectedStderr.untilEnd()
            let (stdout, stderr) = await (out, err)
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread {
                    process.waitUntilExit()
                    continuation.resume()
                }.start()
            }
            ended.set()
            return Outcome(status: process.terminationStatus, stdout: stdout, stderr: stderr)
        }
        if killed.isSet {
            Issue.record("batch-runner \(process.arguments ?? []) did not end within \(limit) or the test's time limit: killed. stderr: \(outcome.stderr.suffix(2000))")
        }
        return outcome
    }

    /// Runs to the end.
    static func run(_ arguments: [String], environment: [String: String] = [:], wrapper: [String] = []) async throws -> Outcome {
        let process = BatchRunnerProcess(arguments, environment: environment, wrapper: wrapper)
        try process.start()
        return await process.finish()
    }
}

/// A flag set from any task.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// One output stream of a process, collected by a thread of its own (blocking reads on GCD's small global pool
/// would starve other tests) as it comes, so a test can look at it while the process runs.
final class CollectedOutput: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var ended = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func collect(from pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                state.withLock { $0.bytes.append(contentsOf: data) }
            }
            let waiters = state.withLock { state in
                state.ended = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }.start()
    }

    var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }

    /// Everything, once the stream has ended.
    func untilEnd() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { state in
                if !state.ended { state.waiters.append(continuation) }
                return state.ended
            }
            if ended { continuation.resume() }
        }
        return text
    }
}
