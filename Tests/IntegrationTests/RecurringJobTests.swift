import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// A night's run an operator can trust: a state knows which job made it and where its results came from, so the
    /// emulator's results never pass for production's and another job's state is named, not advised away.
    @Suite(.timeLimit(.minutes(3)))
    struct RecurringJobTests {
        /// A rehearsal on the embedded sandbox, then the same job for real (here: a separate sandbox standing in for
        /// production): refused with 65 before any request, saying where the results came from.
        @Test func resultsFromTheEmbeddedSandboxNeverPassForAnotherService() async throws {
            let production = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: production.origin)
            try workspace.writeManifest(Manifests.numbers(count: 20))
            let rehearsal = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox", "--no-progress"])
            #expect(rehearsal.status == 0, "\(rehearsal.stderr.suffix(600))")
            let summary = try workspace.summary()
            #expect(summary["sandbox"] as? Bool == true && (summary["origins"] as? [String])?.isEmpty == true)

            let again = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox", "--no-progress"])
            #expect(again.status == 0, "a second rehearsal resumes the first (the embedded sandbox's port changes): \(again.stderr.suffix(400))")

            let real = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: production.credentials)
            #expect(real.status == 65, "\(real.stderr.suffix(600))")
            #expect(real.stderr.contains("holds results from the embedded sandbox; this job sends to http://127.0.0.1:\(production.port)"), "\(real.stderr.suffix(600))")
            #expect(production.stats.requests == 0, "nothing was sent")
            #expect(try workspace.summary()["sandbox"] as? Bool == true, "the rehearsal's summary stands")
        }

        /// Endpoints changed to another service: the same refusal, naming both origins.
        @Test func resultsFromOneServiceNeverPassForAnother() async throws {
            let first = try await RunningSandbox.start()
            let second = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: first.origin)
            try workspace.writeManifest(Manifests.numbers(count: 10))
            #expect(try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: first.credentials).status == 0)
            #expect(try workspace.summary()["origins"] as? [String] == ["http://127.0.0.1:\(first.port)"])

            try workspace.writeNumberVerifyJob(origin: second.origin)
            let moved = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: second.credentials)
            #expect(moved.status == 65, "\(moved.stderr.suffix(600))")
            #expect(moved.stderr.contains("holds results from http://127.0.0.1:\(first.port); this job sends to http://127.0.0.1:\(second.port)"), "\(moved.stderr)")
            #expect(second.stats.requests == 0)
            let restarted = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--restart"], environment: second.credentials)
            #expect(restarted.status == 0, "--restart discards them: \(restarted.stderr.suffix(400))")
        }

        /// Another job's state, given with --state: run and status name that job and never advise --restart.
        @Test func anotherJobsStateIsNamedNotAdvisedAway() async throws {
            let sandbox = try await RunningSandbox.start()
            let numbers = try Workspace()
            try numbers.writeNumberVerifyJob(origin: sandbox.origin)
            try numbers.writeManifest(Manifests.numbers(count: 10))
            #expect(try await BatchRunnerProcess.run(["run", numbers.jobFile], environment: sandbox.credentials).status == 0)
            let state = numbers.output + "/state.sqlite"

            let codes = try Workspace()
            try codes.writePimQRJob(origin: sandbox.origin)
            try codes.writeManifest("customer_id\nK1\nK2\n")
            let requests = sandbox.stats.requests
            let run = try await BatchRunnerProcess.run(["run", codes.jobFile, "--state", state], environment: sandbox.credentials)
            #expect(run.status == 65, "\(run.stderr.suffix(600))")
            #expect(run.stderr.contains("belongs to the number-verify job \(numbers.jobFile) (manifest \(numbers.manifest)), not to this pim-qr job"), "\(run.stderr)")
            #expect(!run.stderr.contains("--restart"), "never advised: it would wipe the other job's progress")
            #expect(sandbox.stats.requests == requests)

            let status = try await BatchRunnerProcess.run(["status", codes.jobFile, "--state", state])
            #expect(status.status == 65, "\(status.stdout)\(status.stderr)")
            #expect(status.stderr.contains("belongs to the number-verify job"), "\(status.stderr)")
            #expect(try await BatchRunnerProcess.run(["status", numbers.jobFile]).status == 0, "its own job still reads it")
        }
    }
}
