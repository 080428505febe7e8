import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// The corpus under Tests/Corpus: malformed manifests and job files, each run through the real binary against an
    /// in-process sandbox. Each either works, with every data row in results.csv or rejects.csv, or fails with the
    /// documented exit code and a message that names the row and column (or the key and line) and says what to do;
    /// none crashes. Tests/Corpus/expectations.json says what each case must do. The cases run one at a time (about
    /// 80 ms each): a hundred processes at once would only slow the timing-sensitive suites running beside them.
    @Suite(.serialized, .timeLimit(.minutes(2)))
    struct MalformedInputTests {
        @Test(arguments: MalformedCorpus.manifestNames)
        func malformedManifest(_ name: String) async throws {
            let expected = try #require(MalformedCorpus.manifest(named: name))
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            defer { try? FileManager.default.removeItem(atPath: workspace.folder) }
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 4, extra: expected.extra ?? "")
            try MalformedCorpus.prepareManifest(expected, in: workspace)

            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            let stderr = outcome.stderr.replacingOccurrences(of: workspace.folder, with: "<workspace>")
            MalformedCorpus.expectNoCrash(outcome, stderr: stderr)
            #expect(outcome.status == expected.exit, "\(stderr)")
            for fragment in expected.stderr ?? [] {
                #expect(stderr.contains(fragment), "stderr lacks \"\(fragment)\": \(stderr)")
            }
            for personal in MalformedCorpus.personalValues(inManifestOf: workspace) {
                #expect(!stderr.contains(personal), "stderr shows a number from the manifest: \(stderr)")
            }

            guard let rows = expected.rows else {
                // A manifest that cannot be used fails before any request.
                #expect(sandbox.stats.requests == 0)
                return
            }
            // Every data row is in results.csv or rejects.csv, once: none silently lost.
            let results = try workspace.csv("results.csv").dropFirst()
            let rejects = try workspace.csv("rejects.csv").dropFirst()
            let numbers = results.map { Int($0[0]) } + rejects.map { Int($0[0]) }
            #expect(numbers.compactMap { $0 }.sorted() == Array(stride(from: 1, through: rows, by: 1)), "rows in results.csv and rejects.csv")
            #expect(try workspace.summary()["rows"] as? Int == rows)
            #expect(try workspace.summary()["pending"] as? Int == 0)
            if let ok = expected.ok { #expect(results.count { $0[3] == "ok" } == ok, "ok rows") }
            #expect(results.count { $0[3] == "failed" } == expected.failed ?? 0, "failed rows")

            let expectedRejects = expected.rejects ?? [:]
            #expect(Set(rejects.map { $0[0] }) == Set(expectedRejects.keys), "rejected rows: \(rejects.map { $0[0] + ": " + $0[3] })")
            for reject in rejects {
                for fragment in expectedRejects[reject[0]] ?? [] {
                    #expect(reject[3].contains(fragment), "row \(reject[0])'s reason lacks \"\(fragment)\": \(reject[3])")
                }
            }
            if rows == 0 { #expect(sandbox.stats.requests == 0) }
        }

        @Test(arguments: MalformedCorpus.jobNames)
        func malformedJobFile(_ name: String) async throws {
            let expected = try #require(MalformedCorpus.job(named: name))
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            defer { try? FileManager.default.removeItem(atPath: workspace.folder) }
            try workspace.writeManifest(Manifests.numbers(count: 2))
            let jobPath = try MalformedCorpus.prepareJob(expected, in: workspace, origin: sandbox.origin)

            let outcome = try await BatchRunnerProcess.run(["run", jobPath], environment: sandbox.credentials)
            let stderr = outcome.stderr.replacingOccurrences(of: workspace.folder, with: "<workspace>")
            MalformedCorpus.expectNoCrash(outcome, stderr: stderr)
            #expect(outcome.status == expected.exit, "\(stderr)")
            for fragment in expected.stderr ?? [] {
                #expect(stderr.contains(fragment), "stderr lacks \"\(fragment)\": \(stderr)")
            }
            for secret in expected.stderrExcludes ?? [] {
                #expect(!stderr.contains(secret), "stderr shows \"\(secret)\"")
            }
            if expected.exit == 78 {
                #expect(sandbox.stats.requests == 0)
                #expect(stderr.split(separator: "\n").count { $0.hasPrefix("batch-runner: ") } == 1, "one message, on one line: \(stderr)")
            }
        }

        @Test func aRowRejectedForABrokenCellStillShowsItsKey() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest("customer_id,msisdn\nC1,06\u{0}12345678\nC2,0612345678,extra\n\u{0}C3,06123\u{0}\n")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let rejects = try workspace.csv("rejects.csv").dropFirst()
            #expect(rejects.map { $0[1] } == ["C1", "C2", ""], "the key when its own cell is sound")
        }

        @Test func theCorpusCoversWhatTheIssueAsks() throws {
            _ = try MalformedCorpus.loaded.get()
            #expect(MalformedCorpus.manifestNames.count >= 30)
            #expect(MalformedCorpus.jobNames.count >= 12)
            // Every committed file is a case, and every case's file is committed.
            for (folder, names) in [("manifests", MalformedCorpus.expectations.manifests.compactMap(\.file)), ("jobs", MalformedCorpus.expectations.jobs.compactMap(\.file))] {
                let files = try FileManager.default.contentsOfDirectory(atPath: MalformedCorpus.folder + "/" + folder)
                #expect(Set(files) == Set(names), "\(folder): files without a case, or cases without a file")
                for file in files {
                    let size = try FileManager.default.attributesOfItem(atPath: MalformedCorpus.folder + "/\(folder)/\(file)")[.size] as? Int ?? 0
                    #expect(size < 64 << 10, "\(file) is big; generate it in the test instead")
                }
            }
        }
    }
}

/// Tests/Corpus: the cases and how to set each up.
enum MalformedCorpus {
    struct Expectations: Decodable {
        var manifests: [Case]
        var jobs: [Case]
    }

    struct Case: Decodable {
        var name: String
        var file: String?
        var generate: String?
        var exit: Int32
        var stderr: [String]?
        var stderrExcludes: [String]?
        var extra: String?
        var rows: Int?
        var ok: Int?
        var failed: Int?
        var rejects: [String: [String]]?
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus").path

    /// The cases, or why expectations.json cannot be read (``MalformedInputTests/theCorpusCoversWhatTheIssueAsks()``
    /// reports it).
    static let loaded: Result<Expectations, LoadError> = {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/expectations.json"))
            return .success(try JSONDecoder().decode(Expectations.self, from: data))
        } catch {
            return .failure(LoadError(description: "Tests/Corpus/expectations.json cannot be read: \(error)"))
        }
    }()

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    static var expectations: Expectations { (try? loaded.get()) ?? Expectations(manifests: [], jobs: []) }

    static var manifestNames: [String] { expectations.manifests.map(\.name) }
    static var jobNames: [String] { expectations.jobs.map(\.name) }
    static func manifest(named name: String) -> Case? { expectations.manifests.first { $0.name == name } }
    static func job(named name: String) -> Case? { expectations.jobs.first { $0.name == name } }

    /// Exit codes the README documents; 70 (internal error) is a failure too.
    static let documentedExitCodes: Set<Int32> = [0, 3, 64, 65, 69, 74, 75, 78]

    static func expectNoCrash(_ outcome: BatchRunnerProcess.Outcome, stderr: String) {
        #expect(documentedExitCodes.contains(outcome.status), "exit \(outcome.status) is not a documented code (a crash or a signal?): \(stderr)")
        for sign in ["Fatal error", "Crash", "Stack dump", "Segmentation fault", "Illegal instruction"] {
            #expect(!stderr.contains(sign), "\(stderr)")
        }
    }

    /// Puts the case's manifest at the workspace's manifest path (the job file names `manifest.csv`).
    static func prepareManifest(_ expected: Case, in workspace: Workspace) throws {
        let path = workspace.manifest
        if let file = expected.file {
            try FileManager.default.copyItem(atPath: folder + "/manifests/" + file, toPath: path)
            return
        }
        let header = Array("customer_id,msisdn\n".utf8)
        let row1 = Array("C1,0612345671\n".utf8)
        let row3 = Array("C3,0612345673\n".utf8)
        switch expected.generate {
        case "field-10mb":
            // Within the 16 MiB field limit, over the 1 MiB cell limit: the row is rejected.
            let field = [UInt8](repeating: UInt8(ascii: "7"), count: 10 << 20)
            try write(header + row1 + Array("C2,\"".utf8) + field + Array("\"\n".utf8) + row3, to: path)
        case "field-17mb":
            let field = [UInt8](repeating: UInt8(ascii: "x"), count: 17 << 20)
            try write(header + row1 + Array("C2,0612345672\nC3,".utf8) + field + Array("\nC4,0612345674\n".utf8), to: path)
        case "random-binary":
            var generator = SplitMix64(seed: 20_240_611)
            try write((0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }, to: path)
        case "nul-bytes":
            try write([UInt8](repeating: 0, count: 64 << 10), to: path)
        case "row-10000-fields":
            let wide = Array(repeating: "x", count: 10_000).joined(separator: ",")
            try write(header + row1 + Array((wide + "\n").utf8) + row3, to: path)
        case "wide-big-row":
            let cell = [UInt8](repeating: UInt8(ascii: "y"), count: 1 << 20)
            var wide: [UInt8] = []
            for index in 0..<40 { wide += (index == 0 ? [] : [UInt8(ascii: ",")]) + cell }
            try write(header + row1 + wide + [0x0A] + row3, to: path)
        case "directory":
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        case "missing":
            break
        case "symlink-loop":
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: workspace.folder + "/loop.csv")
            try FileManager.default.createSymbolicLink(atPath: workspace.folder + "/loop.csv", withDestinationPath: path)
        case "fifo":
            #expect(mkfifo(path, 0o600) == 0)
        default:
            Issue.record("unknown generator \(expected.generate ?? "nil") for \(expected.name)")
        }
    }

    /// Writes the case's job file (or makes the odd path it needs) and answers the path to run.
    static func prepareJob(_ expected: Case, in workspace: Workspace, origin: String) throws -> String {
        if let file = expected.file {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/jobs/" + file))
            if let text = String(data: bytes, encoding: .utf8), text.contains("{{ORIGIN}}") {
                bytes = Data(text.replacingOccurrences(of: "{{ORIGIN}}", with: origin).utf8)
            }
            try bytes.write(to: URL(fileURLWithPath: workspace.jobFile))
            return workspace.jobFile
        }
        switch expected.generate {
        case "directory":
            try FileManager.default.createDirectory(atPath: workspace.jobFile, withIntermediateDirectories: false)
        case "missing":
            break
        default:
            Issue.record("unknown generator \(expected.generate ?? "nil") for \(expected.name)")
        }
        return workspace.jobFile
    }

    /// Numbers in the manifest (runs of seven digits or more, as written and normalised): stderr must show none.
    static func personalValues(inManifestOf workspace: Workspace) -> Set<String> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workspace.manifest, isDirectory: &isDirectory), !isDirectory.boolValue,
            let attributes = try? FileManager.default.attributesOfItem(atPath: workspace.manifest),
            (attributes[.type] as? FileAttributeType) == .typeRegular,
            let data = FileManager.default.contents(atPath: workspace.manifest), data.count < 1 << 20
        else { return [] }
        var values: Set<String> = []
        var run = ""
        for byte in data + [0] {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                run.append(Character(Unicode.Scalar(byte)))
                continue
            }
            if run.count >= 7 {
                values.insert(run)
                if run.hasPrefix("06") { values.insert("31" + run.dropFirst()) }
            }
            run = ""
        }
        return values
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// A small seeded generator (SplitMix64), so random cases and kill moments are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
