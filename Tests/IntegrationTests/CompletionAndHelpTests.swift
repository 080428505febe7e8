import Foundation
import Jobs
import Testing

extension EndToEnd {
    /// The shell completion scripts argument-parser generates, and the examples in each subcommand's help.
    @Suite(.timeLimit(.minutes(1)))
    struct CompletionAndHelpTests {
        @Test(arguments: ["bash", "zsh", "fish"])
        func theCompletionScriptKnowsTheSubcommands(shell: String) async throws {
            let outcome = try await BatchRunnerProcess.run(["--generate-completion-script", shell])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout.count > 500)
            // fish spells long options without their dashes (`-l 'log-format'`).
            for word in ["batch-runner", "run", "status", "validate", "sandbox", "log-format", "log-level", "metrics-file"] {
                #expect(outcome.stdout.contains(word), "\(shell) completion lacks \(word)")
            }
        }

        @Test func versionIsPrintedAndRecordedInTheSummary() async throws {
            let outcome = try await BatchRunnerProcess.run(["--version"])
            #expect(outcome.status == 0)
            #expect(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == RunnerVersion.current)
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: "http://127.0.0.1:1")
            try workspace.writeManifest("customer_id,msisdn\n")
            let run = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try workspace.summary()["runner_version"] as? String == RunnerVersion.current)
        }

        @Test func theInstallScriptInstallsEachShellsCompletionPerUser() async throws {
            let home = NSTemporaryDirectory() + "batch-runner-home-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("scripts/install-completions.sh").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script, "--binary", BatchRunnerProcess.executable.path, "bash", "zsh", "fish"]
            var environment = ProcessInfo.processInfo.environment
            environment["HOME"] = home
            environment["XDG_DATA_HOME"] = nil
            environment["XDG_CONFIG_HOME"] = nil
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(printed)")
            for path in [
                "/.local/share/bash-completion/completions/batch-runner", "/.zfunc/_batch-runner",
                "/.config/fish/completions/batch-runner.fish",
            ] {
                let text = try String(contentsOfFile: home + path, encoding: .utf8)
                #expect(text.contains("sandbox"), "\(path)")
            }
            #expect(printed.contains("fpath=(~/.zfunc $fpath)"), "says how zsh finds it: \(printed)")
        }

        @Test(arguments: ["run", "status", "validate", "sandbox"])
        func theHelpOfEachSubcommandHasAnExample(subcommand: String) async throws {
            let outcome = try await BatchRunnerProcess.run([subcommand, "--help"])
            #expect(outcome.status == 0)
            #expect(outcome.stdout.contains("Example"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("batch-runner \(subcommand) "), "the example runs the subcommand")
        }
    }
}
