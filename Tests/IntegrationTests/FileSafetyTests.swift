import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// Nothing outside the output folder is touched, and a folder or state that cannot be trusted or written stops
    /// the run before any request (exit 74), naming the path.
    @Suite(.timeLimit(.minutes(3)))
    struct FileSafetyTests {
        /// A pim-qr job of 20 customers.
        func writePimJob(_ workspace: Workspace, origin: String) throws {
            try workspace.writePimQRJob(origin: origin)
            try workspace.writeManifest("customer_id\n" + (1...20).map { "K\($0)\n" }.joined())
        }

        @Test func aSymlinkedSubfolderIsRefusedBeforeAnyRequestAndItsTargetIsUntouched() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writePimJob(workspace, origin: sandbox.origin)
            let drive = workspace.folder + "/compliance-drive"
            try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true)
            try "someone else's file".write(toFile: drive + "/K1.svg", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: workspace.output, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: workspace.output + "/qr", withDestinationPath: drive)

            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 74, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("out/qr is a symbolic link"), "\(outcome.stderr)")
            #expect(sandbox.stats.requests == 0)
            #expect(try String(contentsOfFile: drive + "/K1.svg", encoding: .utf8) == "someone else's file")
            #expect(try FileManager.default.contentsOfDirectory(atPath: drive) == ["K1.svg"])
        }

        /// The start-up sweep removes only this program's own temporary names (`.<name>.tmp-<pid>-<digits>`)
        /// whose process is gone: an operator's dot-files with `.tmp-` in their names stay.
        @Test func theStartUpSweepLeavesForeignDotFilesAlone() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writePimJob(workspace, origin: sandbox.origin)
            try FileManager.default.createDirectory(atPath: workspace.output + "/qr", withIntermediateDirectories: true)
            // A process that has ended: its pid is free (pid reuse within the test is not a concern at this scale).
            let ended = Process()
            ended.executableURL = URL(fileURLWithPath: "/bin/true")
            try ended.run()
            ended.waitUntilExit()
            let stale = [".results.csv.tmp-\(ended.processIdentifier)-12345", "qr/.K1.svg.tmp-\(ended.processIdentifier)-678"]
            let foreign = [
                ".notes.tmp-draft", ".results.csv.tmp-draft", ".summary.json.tmp-12-ab", "qr/.notes.tmp-draft", "qr/.x.tmp-\(getpid())",
                ".mine.tmp-\(getpid())-1",
            ]
            for name in stale + foreign { try "x".write(toFile: workspace.output + "/" + name, atomically: false, encoding: .utf8) }

            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            for name in foreign { #expect(FileManager.default.fileExists(atPath: workspace.output + "/" + name), "\(name) was deleted") }
            for name in stale { #expect(!FileManager.default.fileExists(atPath: workspace.output + "/" + name), "\(name) was left") }
        }

        @Test func anOutputFolderThatIsALinkIsResolvedOnce() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            let real = workspace.folder + "/real-out"
            try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: workspace.output, withDestinationPath: real)
            try writePimJob(workspace, origin: sandbox.origin)
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(FileManager.default.fileExists(atPath: real + "/qr/K20.svg"))
        }

        @Test(.enabled(if: Tmpfs.isAvailable, "mounting a read-only tmpfs needs root"))
        func aReadOnlyOutputFolderIsFoundBeforeAnyRequest() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            let readOnly = try Tmpfs(kilobytes: 64, readOnly: true)
            try writePimJob(workspace, origin: sandbox.origin)
            let text = try String(contentsOfFile: workspace.jobFile, encoding: .utf8).replacingOccurrences(of: "output: out", with: "output: \(readOnly.path)")
            try text.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            let outcome = try await BatchRunnerProcess.run(
                ["run", workspace.jobFile, "--state", workspace.folder + "/state.sqlite"], environment: sandbox.credentials
            )
            #expect(outcome.status == 74, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("Read-only file system"), "the real reason: \(outcome.stderr)")
            #expect(sandbox.stats.requests == 0)
        }

        @Test func aStatePathThatIsALinkIsRefused() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writePimJob(workspace, origin: sandbox.origin)
            let target = workspace.folder + "/elsewhere.sqlite"
            try FileManager.default.createSymbolicLink(atPath: workspace.folder + "/state.sqlite", withDestinationPath: target)
            let outcome = try await BatchRunnerProcess.run(
                ["run", workspace.jobFile, "--state", workspace.folder + "/state.sqlite"], environment: sandbox.credentials
            )
            #expect(outcome.status == 74, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("symbolic link"), "\(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target), "the link was not followed")
            #expect(sandbox.stats.requests == 0)
        }

        @Test func aGarbageStateIsRefusedAndRestartMovesItAside() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writePimJob(workspace, origin: sandbox.origin)
            let state = workspace.folder + "/state.sqlite"
            try Data(repeating: 0x5A, count: 10_000).write(to: URL(fileURLWithPath: state))
            let refused = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--state", state], environment: sandbox.credentials)
            #expect(refused.status == 74, "\(refused.stderr)")
            #expect(refused.stderr.contains("is not a SQLite database"), "\(refused.stderr)")
            #expect(sandbox.stats.requests == 0)

            let restarted = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--state", state, "--restart"], environment: sandbox.credentials)
            #expect(restarted.status == 0, "\(restarted.stderr)")
            let aside = try FileManager.default.contentsOfDirectory(atPath: workspace.folder).filter { $0.hasPrefix("state.sqlite.damaged-") }
            #expect(aside.count == 1, "the damaged state is kept: \(aside)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: workspace.folder + "/" + aside[0])) == Data(repeating: 0x5A, count: 10_000))
        }

        /// idscan-create, killed; its -wal deleted (a careless clean-up): the next run refuses the rolled-back state
        /// rather than create the transactions of the finished rows again.
        @Test func aDeletedWALAfterAKillIsRefusedWithZeroRequests() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(100) }
            let workspace = try Workspace()
            try """
                kind: idscan-create
                manifest: manifest.csv
                output: out
                columns: { key: customer_id }
                concurrency: 4
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                idscan: { tasks: [document_scan], locale: nl-NL, expires_in: 7200 }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            try workspace.writeManifest("customer_id\n" + (1...200).map { "C\($0)\n" }.joined())
            let state = workspace.folder + "/state.sqlite"
            let run = BatchRunnerProcess(["run", workspace.jobFile, "--state", state], environment: sandbox.idscanCredentials)
            try run.start()
            try await waitUntil { sandbox.stats.requests >= 40 || !run.process.isRunning }
            run.signal(SIGKILL)
            _ = await run.finish()
            #expect(FileManager.default.fileExists(atPath: state + "-wal"))
            try FileManager.default.removeItem(atPath: state + "-wal")
            try? FileManager.default.removeItem(atPath: state + "-shm")
            // Requests of the killed run still in flight may reach the sandbox later: count the customers instead.
            let created = Set(sandbox.stats.served.keys)

            let again = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--state", state], environment: sandbox.idscanCredentials)
            #expect(again.status == 74, "\(again.stderr)")
            #expect(again.stderr.contains("rolled back"), "\(again.stderr)")
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 }, "no transaction was created twice")
            #expect(sandbox.stats.served.count <= created.count + 4, "no new customer was sent (at most the killed run's 4 in flight landed later)")
        }

        @Test(.enabled(if: Tmpfs.isAvailable, "mounting a small tmpfs needs root"))
        func aFullDiskUnderTheStateExits74AndTheResumedRunLosesNothing() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            let disk = try Tmpfs(kilobytes: 600)
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "state: \(disk.path)/state.sqlite")
            let count = 3_000
            try workspace.writeManifest(Manifests.numbers(count: count))
            let full = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(full.status == 74, "\(full.stderr)")
            #expect(full.stderr.contains("disk") && full.stderr.contains("full"), "\(full.stderr)")

            try disk.resize(kilobytes: 64 << 10)
            let resumed = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == count)
            #expect(Set(rows.map { $0[0] }).count == count)
        }
    }
}
