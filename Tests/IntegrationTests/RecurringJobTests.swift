import Foundation
import Sandbox
import Testing
import TestSupport

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

        /// The archives in `<output>/history/` that this program made, oldest first.
        static func archives(_ workspace: Workspace) -> [String] {
            let folder = workspace.output + "/history"
            return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
                .filter { FileManager.default.fileExists(atPath: folder + "/" + $0 + "/.batch-runner-archive") }.sorted()
        }

        /// `on_new_manifest: start_over`, three nights with three manifests: each night a new campaign, the
        /// previous one's outputs archived whole; an unfinished campaign still refuses a new file (65, naming what
        /// is left); `history_keep` deletes the oldest archives and nothing else.
        @Test func aNewManifestEveryNightStartsOverOnceTheCampaignIsFinished() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "on_new_manifest: start_over\nhistory_keep: 2\n")
            let nights = [(1, 12), (101, 7), (201, 9)].map { start, count in
                "customer_id,msisdn\n" + (start..<(start + count)).map { "C\($0),+\(Manifests.number($0))\n" }.joined()
            }
            for (night, manifest) in nights.enumerated() {
                try workspace.writeManifest(manifest)
                let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials)
                #expect(outcome.status == 0, "night \(night + 1): \(outcome.stderr.suffix(600))")
                #expect(try workspace.csv("results.csv").count - 1 == manifest.split(separator: "\n").count - 1, "night \(night + 1)'s results only")
                #expect(Self.archives(workspace).count == night)
            }
            // Each archive is a night's outputs as they were.
            let archives = Self.archives(workspace)
            for (index, archive) in archives.enumerated() {
                let folder = Workspace(folder: workspace.output + "/history/" + archive)
                #expect(try folder.csv("results.csv", inOutput: false).count - 1 == [12, 7][index])
                #expect(FileManager.default.fileExists(atPath: folder.folder + "/rejects.csv"))
                #expect(FileManager.default.fileExists(atPath: folder.folder + "/summary.json"))
            }
            #expect(sandbox.stats.count(.ok) == 28, "every number once")

            // Night four is cut short: its campaign is not finished, so night five's new file is refused.
            try FileManager.default.createDirectory(atPath: workspace.output + "/history/notes", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: workspace.output + "/history/20200101T000000Z", withIntermediateDirectories: true)
            try workspace.writeManifest("customer_id,msisdn\n" + (301..<311).map { "C\($0),+\(Manifests.number($0))\n" }.joined())
            let cut = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--limit", "4", "--no-progress"], environment: sandbox.credentials)
            #expect(cut.status == 0, "\(cut.stderr.suffix(400))")
            #expect(Self.archives(workspace).count == 2, "history_keep: 2 removed the oldest")
            #expect(!Self.archives(workspace).contains(archives[0]))
            #expect(FileManager.default.fileExists(atPath: workspace.output + "/history/notes"), "a folder the runner did not make stays")
            #expect(FileManager.default.fileExists(atPath: workspace.output + "/history/20200101T000000Z"), "one without the runner's marker stays")
            try workspace.writeManifest("customer_id,msisdn\n" + (401..<405).map { "C\($0),+\(Manifests.number($0))\n" }.joined())
            let refused = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials)
            #expect(refused.status == 65, "\(refused.stderr.suffix(600))")
            #expect(refused.stderr.contains("that campaign is not finished: 6 rows pending"), "\(refused.stderr.suffix(600))")
            #expect(sandbox.stats.count(.ok) == 32)
        }

        /// The same on a PostgreSQL campaign: a finished campaign and a new manifest start over there too.
        @Test func startOverWorksOnAPostgreSQLCampaign() async throws {
            let sandbox = try await RunningSandbox.start()
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: SharedCampaignTests.numberVerifyBody(sandbox.origin) + "\non_new_manifest: start_over")
            for night in 0..<2 {
                try campaign.workspace.writeManifest("customer_id,msisdn\n" + (0..<5).map { "C\($0),+\(Manifests.number(night * 100 + $0 + 1))\n" }.joined())
                let outcome = try await campaign.run(worker: 1, credentials: sandbox.credentials)
                #expect(outcome.status == 0, "night \(night + 1): \(outcome.stderr.suffix(600))")
            }
            let history = try FileManager.default.contentsOfDirectory(atPath: campaign.output(1) + "/history")
            #expect(history.count == 1)
            #expect(try campaign.csv("results.csv", worker: 1).count == 6)
            #expect(sandbox.stats.count(.ok) == 10)
        }

        /// `notify.url` receives summary.json byte for byte, once per run, with the header `headers_env` names;
        /// a refusing receiver and a failed run change no exit code; a receiver that hangs costs at most 30 s.
        @Test func everyRunEndsWithItsSummaryPostedToTheReceiver() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            let notify = "notify: { url: \(sandbox.origin)/_sandbox/notify, headers_env: HOOK_HEADER }\n"
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: notify)
            try workspace.writeManifest(Manifests.numbers(count: 10))
            var environment = sandbox.credentials
            environment["HOOK_HEADER"] = "Authorization: Bearer hook-secret-123456"
            let first = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: environment)
            #expect(first.status == 0, "\(first.stderr.suffix(400))")
            let received = sandbox.sandbox.notifications.notifications
            #expect(received.count == 1)
            #expect(received.first?.body == Array(try Data(contentsOf: URL(fileURLWithPath: workspace.output + "/summary.json"))), "summary.json byte for byte")
            #expect(received.first?.contentType == "application/json")
            #expect(received.first?.authorization == "Bearer hook-secret-123456")
            #expect(!first.stderr.contains("hook-secret-123456"))

            // A run that fails (a manifest gone) notifies too, with its exit code.
            try FileManager.default.removeItem(atPath: workspace.manifest)
            try workspace.writeManifest("customer_id,msisdn\nC1,+31612345678\n")
            let failed = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: environment)
            #expect(failed.status == 65)
            let last = try #require(sandbox.sandbox.notifications.notifications.last)
            let summary = try JSONSerialization.jsonObject(with: Data(last.body)) as? [String: Any]
            #expect(summary?["exit_code"] as? Int == 65 && sandbox.sandbox.notifications.notifications.count == 2)
        }

        @Test func aRefusingOrHangingReceiverChangesNoExitCode() async throws {
            for answer in [SandboxConfiguration.NotifyAnswer.refuse, .hang] {
                let receiver = try await RunningSandbox.start { $0.notifyAnswer = answer }
                let sandbox = try await RunningSandbox.start()
                let workspace = try Workspace()
                try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "notify: { url: \(receiver.origin)/_sandbox/notify }\n")
                try workspace.writeManifest(Manifests.numbers(count: 5))
                let started = ContinuousClock.now
                let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials)
                let took = started.duration(to: .now)
                #expect(outcome.status == 0, "\(answer): \(outcome.stderr.suffix(400))")
                #expect(outcome.stderr.contains("notify: the receiver did not take the summary"), "\(answer): \(outcome.stderr.suffix(400))")
                #expect(took < .seconds(45), "\(answer): the notification held the exit for \(took)")
                #expect(receiver.sandbox.notifications.notifications.count == 3, "\(answer): three tries")
            }
        }
    }
}
