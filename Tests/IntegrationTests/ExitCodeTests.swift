import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// The documented exit codes, each provoked through the real binary.
    @Suite(.timeLimit(.minutes(1)))
    struct ExitCodeTests {
        @Test func missingCredentialVariablesExit78NamingThem() async throws {
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: "http://127.0.0.1:9")
            try workspace.writeManifest(Manifests.numbers(count: 3))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile])
            #expect(outcome.status == 78)
            #expect(outcome.stderr.contains("KPN_CLIENT_ID"))
        }

        @Test func aJobFileWithAnUnknownKeyExits78() async throws {
            let workspace = try Workspace()
            try "kind: number-verify\nmanifest: m.csv\nconcurrncy: 3\n".write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox"])
            #expect(outcome.status == 78)
            #expect(outcome.stderr.contains("concurrncy"))
        }

        @Test func aMissingJobFileExits78() async throws {
            let outcome = try await BatchRunnerProcess.run(["run", "/nonexistent/job.yml"])
            #expect(outcome.status == 78)
        }

        @Test func badCommandLineUsageExits64() async throws {
            #expect(try await BatchRunnerProcess.run(["run"]).status == 64)
            #expect(try await BatchRunnerProcess.run(["run", "job.yml", "--concurrency", "0"]).status == 64)
            #expect(try await BatchRunnerProcess.run(["frobnicate"]).status == 64)
        }

        @Test func aMissingManifestOrColumnExits65() async throws {
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: "http://127.0.0.1:9")
            let missing = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox"])
            #expect(missing.status == 65)
            #expect(missing.stderr.contains("does not exist"))

            try workspace.writeManifest("customer_id,phone\nC1,0612345678\n")
            let noColumn = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox"])
            #expect(noColumn.status == 65)
            #expect(noColumn.stderr.contains("no column `msisdn`"))
            #expect(noColumn.stderr.contains("`phone`"))
        }

        @Test func anUnbalancedQuoteExits65NamingTheRowBeforeAnyRequest() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest("customer_id,msisdn\nC1,0612345678\nC2,\"0612345679\nC3,0612345670\n")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 65)
            #expect(outcome.stderr.contains("data row 2"))
            #expect(sandbox.stats.requests == 0)
        }

        @Test func aManifestWithOnlyAHeaderFinishesWith0AndSaysSo() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest("customer_id,msisdn\n")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0)
            #expect(outcome.stderr.contains("no data rows"))
            #expect(sandbox.stats.requests == 0)
            #expect(try workspace.summary()["rows"] as? Int == 0)
        }

        @Test func refusedCredentialsExit69() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 5))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: ["KPN_CLIENT_ID": "sandbox-client", "KPN_CLIENT_SECRET": "wrong-secret-value"])
            #expect(outcome.status == 69)
            #expect(outcome.stderr.contains("refused the credentials"))
            #expect(!outcome.stderr.contains("wrong-secret-value"))
            #expect(try workspace.summary()["pending"] as? Int == 5)
        }

        @Test func theEmbeddedSandboxRunsTheShippedJob() async throws {
            let workspace = try Workspace()
            let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let outcome = try await BatchRunnerProcess.run([
                "run", packageRoot.appendingPathComponent("jobs/number-verify.yml").path, "--sandbox", "--output", workspace.output,
            ])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(try workspace.csv("results.csv").count > 5)
            #expect(try workspace.csv("rejects.csv").count > 1)
            let attributes = try FileManager.default.attributesOfItem(atPath: workspace.output + "/state.sqlite")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let results = try FileManager.default.attributesOfItem(atPath: workspace.output + "/results.csv")
            #expect((results[.posixPermissions] as? Int) == 0o600)
        }
    }
}
