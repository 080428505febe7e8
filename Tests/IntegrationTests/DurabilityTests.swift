import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// idscan-create's sending mark is on disk before the creation leaves, so that after a power cut the next run
    /// never takes a sent creation for an unsent one. Checked on the real binary under `strace -f` (Debian's
    /// strace, installed by scripts/test.sh): for every `POST /transactions`, the state's `-wal` file and the commit
    /// count beside it were synced after the mark was written and before the request's first byte left.
    @Suite(.timeLimit(.minutes(3)))
    struct DurabilityTests {
        static let strace = "/usr/bin/strace"

        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: strace), "strace is not installed (scripts/test.sh installs it)"))
        func theSendingMarkIsSyncedBeforeEachCreationLeaves() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            let rows = 6
            try """
                kind: idscan-create
                manifest: manifest.csv
                output: out
                columns: { key: customer_id }
                concurrency: 1
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                idscan: { tasks: [document_scan], return_url: https://example.com/done }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            try workspace.writeManifest("customer_id\n" + (1...rows).map { "C\($0)\n" }.joined())
            let tracePath = workspace.folder + "/trace.txt"
            let outcome = try await BatchRunnerProcess.run(
                ["run", workspace.jobFile, "--no-progress"], environment: sandbox.idscanCredentials,
                wrapper: [
                    Self.strace, "-f", "-qq", "-y", "-s", "48", "-o", tracePath,
                    "-e", "trace=write,writev,pwrite64,pwritev,pwritev2,sendmsg,sendmmsg,sendto,fsync,fdatasync",
                ]
            )
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(800))")
            #expect(sandbox.stats.served.count == rows)

            let text = try String(contentsOfFile: tracePath, encoding: .utf8)
            let trace = SyscallTrace(text)
            let creations = trace.events.indices.filter { trace.events[$0].kind == .creation }
            let lines = text.split(separator: "\n")
            #expect(
                creations.count == rows,
                "\(creations.count) creation requests in a trace of \(lines.count) lines; lines with POST: \(lines.filter { $0.contains("POST") }.prefix(3))"
            )
            for (number, creation) in creations.enumerated() {
                for file in [SyscallTrace.File.wal, .generation] {
                    let written = trace.events[..<creation].lastIndex { $0.kind == .write(file) }
                    let synced = written.map { written in trace.events[written..<creation].contains { $0.kind == .sync(file) } } ?? false
                    #expect(written != nil && synced, "creation \(number + 1): the \(file) file was not synced between the mark's write and the request")
                }
            }
        }
    }
}

extension EndToEnd.DurabilityTests {
    /// The trace reader on strace's own layouts: five-digit and padded four-digit pids, a sync that another
    /// thread's call interrupts, and the socket write of a creation.
    @Test func theTraceReaderFollowsStracesLayouts() {
        let trace = SyscallTrace(
            """
            5535  pwrite64(7</tmp/w/out/state.sqlite-wal>, "\\0\\0"..., 4120, 0) = 4120
            5535  fdatasync(7</tmp/w/out/state.sqlite-wal> <unfinished ...>
            12345 pwrite64(9</tmp/w/out/state.sqlite.generation>, "  3\\n", 21, 0) = 21
            5535  <... fdatasync resumed>) = 0
            12345 fdatasync(9</tmp/w/out/state.sqlite.generation>) = 0
            5540  writev(20<socket:[2752291]>, [{iov_base="POST /id-scan/v1/transactions HTTP/1.1\\r\\n"..., iov_len=461}], 1) = 461
            """
        )
        #expect(trace.events.map(\.kind) == [.write(.wal), .write(.generation), .sync(.wal), .sync(.generation), .creation])
    }
}

/// The events of an `strace -f -y` trace that matter for durability, in the order they happened: writes and syncs
/// of the state's `-wal` file and its commit count, and the first write of each creation request. A sync counts
/// where it ended (`<... fdatasync resumed>`), a request where it began.
struct SyscallTrace {
    enum File: String, CustomStringConvertible {
        case wal = "-wal"
        case generation = ".generation"
        var description: String { rawValue }
    }

    enum Kind: Equatable {
        case write(File)
        case sync(File)
        case creation
    }

    struct Event {
        var kind: Kind
    }

    private(set) var events: [Event] = []

    init(_ text: String) {
        var unfinishedSyncs: [Substring: File] = [:]
        for line in text.split(separator: "\n") {
            // `12345 writev(...)`, the pid padded to five columns (`5535  writev(...)`); strace leaves the pid out
            // while it traces one thread only.
            let fields = line.split(separator: " ", maxSplits: 1)
            let hasPID = fields.count == 2 && fields[0].allSatisfy(\.isNumber)
            let pid = hasPID ? fields[0] : "main"
            let call = hasPID ? fields[1].drop { $0 == " " } : line[...]
            if call.hasPrefix("<... fsync resumed>") || call.hasPrefix("<... fdatasync resumed>") {
                if let file = unfinishedSyncs.removeValue(forKey: pid), call.contains("= 0") { events.append(Event(kind: .sync(file))) }
                continue
            }
            guard let open = call.firstIndex(of: "(") else { continue }
            let name = call[..<open]
            let file = Self.file(of: call[open...])
            switch name {
            case "fsync", "fdatasync":
                guard let file else { continue }
                if call.hasSuffix("<unfinished ...>") {
                    unfinishedSyncs[pid] = file
                } else if call.hasSuffix("= 0") {
                    events.append(Event(kind: .sync(file)))
                }
            case "write", "writev", "pwrite64", "pwritev", "pwritev2":
                if let file {
                    events.append(Event(kind: .write(file)))
                } else if call.contains("\"POST /id-scan/v1/transactions") {
                    events.append(Event(kind: .creation))
                }
            case "sendmsg", "sendmmsg", "sendto":
                if call.contains("\"POST /id-scan/v1/transactions") { events.append(Event(kind: .creation)) }
            default:
                continue
            }
        }
    }

    /// Which file the call's first argument (`7</path/state.sqlite-wal>`) is, when one of ours.
    private static func file(of arguments: Substring) -> File? {
        guard let close = arguments.firstIndex(of: ">") else { return nil }
        let descriptor = arguments[..<close]
        if descriptor.hasSuffix("state.sqlite-wal") { return .wal }
        if descriptor.hasSuffix("state.sqlite.generation") { return .generation }
        return nil
    }
}
