import Foundation
import GRDB
import Sandbox
import Testing

extension EndToEnd {
    /// `status`, `validate`, `--limit` and `--retry-failed`, as an operator uses them during a campaign.
    @Suite(.timeLimit(.minutes(2)))
    struct OperationsTests {
        func statusJSON(_ workspace: Workspace) async throws -> [String: Any] {
            let outcome = try await BatchRunnerProcess.run(["status", workspace.jobFile, "--json"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            return try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
        }

        @Test func statusOfAJobThatNeverRanSaysSo() async throws {
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: "http://127.0.0.1:9")
            try workspace.writeManifest(Manifests.numbers(count: 3))
            let status = try await statusJSON(workspace)
            #expect(status["started"] as? Bool == false)
            let text = try await BatchRunnerProcess.run(["status", workspace.jobFile])
            #expect(text.stdout.contains("not started"))
        }

        @Test func statusOfAHalfDoneRunShowsCountsQuotaAndErrors() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.quota = .init(limit: 500, interval: 1, unit: .hour)
                $0.bareNotFoundNumbers = [Manifests.number(5), Manifests.number(15)]
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 200, rejectEvery: 50, notFoundEvery: 10))
            let sample = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--limit", "60"], environment: sandbox.credentials)
            #expect(sample.status == 3, "the sample met two bare 404s: \(sample.stderr)")
            #expect(sandbox.stats.served.count == 60, "--limit 60 sent 60 lookups")

            let status = try await statusJSON(workspace)
            #expect(status["started"] as? Bool == true && status["running"] as? Bool == false)
            #expect(status["rows"] as? Int == 200 && status["rejected"] as? Int == 4)
            // Rows 10, 20, 30, 40 and 60 are numbers the service does not know (not_found); rows 5 and 15 meet a bare
            // 404 (failed); row 50 is rejected.
            #expect(status["succeeded"] as? Int == 53 && status["not_found"] as? Int == 5 && status["failed"] as? Int == 2)
            #expect(status["pending"] as? Int == 136)
            #expect(status["last_exit_code"] as? Int == 3)
            let quota = try #require((status["quota"] as? [[String: Any]])?.first)
            #expect(quota["limit"] as? Int == 500 && quota["used"] as? Int == 60)
            #expect((quota["resets_in_seconds"] as? Int ?? 0) > 3_000)
            let errors = try #require(status["last_errors"] as? [[String: Any]])
            #expect(errors.first?["rows"] as? Int == 2 && (errors.first?["error"] as? String)?.contains("HTTP 404") == true)

            let text = try await BatchRunnerProcess.run(["status", workspace.jobFile])
            #expect(text.stdout.contains("53 ok, 5 not found, 2 failed, 0 unknown, 136 pending, 4 rejected"), "\(text.stdout)")
            #expect(text.stdout.contains("quota 60 of 500 used"))
        }

        @Test func statusSeesAnActiveRun() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(50) }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: 2)
            try workspace.writeManifest(Manifests.numbers(count: 400))
            let run = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.credentials)
            try run.start()
            try await waitUntil { sandbox.stats.requests >= 10 }
            let status = try await statusJSON(workspace)
            #expect(status["running"] as? Bool == true)
            run.signal(SIGINT)
            #expect(await run.finish().status == 75)
            #expect(try await statusJSON(workspace)["running"] as? Bool == false)
        }

        /// `--retry-failed` sends the failed rows (a bare 404 here) again, never the `not_found` ones: those are answers.
        @Test func retryFailedSendsOnlyTheFailedRowsAgain() async throws {
            let sandbox = try await RunningSandbox.start { $0.bareNotFoundNumbers = [Manifests.number(3), Manifests.number(7)] }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 50, notFoundEvery: 10))
            #expect(try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials).status == 3)
            #expect(try workspace.summary()["not_found"] as? Int == 5)
            let before = sandbox.stats.byEndpoint["POST /insights"] ?? 0
            let again = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--retry-failed"], environment: sandbox.credentials)
            #expect(again.status == 3, "bare 404s fail again")
            #expect((sandbox.stats.byEndpoint["POST /insights"] ?? 0) - before == 2)
        }

        /// An idscan-reports job of `rows` simple reports, run to its end.
        func finishedReportsJob(_ sandbox: RunningSandbox, rows: Int) async throws -> Workspace {
            let workspace = try Workspace()
            try """
                kind: idscan-reports
                manifest: manifest.csv
                output: out
                concurrency: 4
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                idscan: { report: simple }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            try workspace.writeManifest(IDScanReportsEndToEndTests.manifest(rows).text)
            #expect(try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials).status == 0)
            return workspace
        }

        @Test func exportOfASQLiteStateWritesTheFolderAnywhereAndRefusesAChangedFile() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try await finishedReportsJob(sandbox, rows: 20)

            let requests = sandbox.stats.requests
            let exported = Workspace(folder: workspace.folder + "/elsewhere")
            let export = try await BatchRunnerProcess.run(["export", workspace.jobFile, "--output", exported.output])
            #expect(export.status == 0, "\(export.stderr)")
            #expect(try exported.csv("results.csv") == (try workspace.csv("results.csv")))
            #expect(IDScanReportsEndToEndTests.files(exported, "reports") == IDScanReportsEndToEndTests.files(workspace, "reports"))
            #expect(try IDScanReportsEndToEndTests.sha256sumCheck(exported).status == 0)
            #expect(sandbox.stats.requests == requests, "export sends nothing")

            let report = try #require(IDScanReportsEndToEndTests.files(workspace, "reports").first { $0.hasSuffix(".pdf") })
            try Data("changed".utf8).write(to: URL(fileURLWithPath: workspace.output + "/reports/" + report))
            let refused = try await BatchRunnerProcess.run(["export", workspace.jobFile, "--output", workspace.folder + "/again"])
            #expect(refused.status == 74)
            #expect(refused.stderr.contains(report) && refused.stderr.contains("SHA-256"))
        }

        @Test func exportOfASQLiteStateMakesARunsFolderChecksAndTrustsNoStoredPath() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try await finishedReportsJob(sandbox, rows: 6)
            try await Self.expectExportRefusals(jobFile: workspace.jobFile, folder: workspace.folder) {
                try DatabaseQueue(path: workspace.output + "/state.sqlite").write { db in
                    try db.execute(sql: "UPDATE files SET path = ? WHERE path = (SELECT max(path) FROM files)", arguments: [Self.escapingPath])
                }
            }
        }

        /// A stored path that would lead out of the export folder.
        static let escapingPath = "reports/../../escaped.pdf"

        /// `export` refuses (74) a destination whose `reports/` is a link, leaving the link's target as it was, and,
        /// once `tamper` made the state hold ``escapingPath``, refuses the state naming the row, writing nothing.
        static func expectExportRefusals(
            jobFile: String, folder: String, environment: [String: String] = [:], tamper: () throws -> Void
        ) async throws {
            let drive = folder + "/compliance-drive"
            try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true)
            try "theirs\n".write(toFile: drive + "/SHA256SUMS", atomically: true, encoding: .utf8)
            let linked = folder + "/linked-export"
            try FileManager.default.createDirectory(atPath: linked, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: linked + "/reports", withDestinationPath: drive)
            let refused = try await BatchRunnerProcess.run(["export", jobFile, "--output", linked], environment: environment)
            #expect(refused.status == 74, "\(refused.stderr)")
            #expect(refused.stderr.contains("linked-export/reports is a symbolic link"), "\(refused.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: drive) == ["SHA256SUMS"])
            #expect(try String(contentsOfFile: drive + "/SHA256SUMS", encoding: .utf8) == "theirs\n")

            try tamper()
            let destination = folder + "/export"
            let outcome = try await BatchRunnerProcess.run(["export", jobFile, "--output", destination], environment: environment)
            #expect(outcome.status == 74, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("records a saved file of row ") && outcome.stderr.contains("not qr/, reports/ or images/"), "\(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/escaped.pdf"), "written outside the export folder")
            #expect(!FileManager.default.fileExists(atPath: destination), "nothing is written")
        }

        @Test func validateReportsTheManifestWithoutCallingAnyAPI() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 100, duplicateEvery: 25, rejectEvery: 20))
            let outcome = try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--json"], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(report["rows"] as? Int == 100 && report["rejected"] as? Int == 5 && report["accepted"] as? Int == 95)
            #expect((report["requests"] as? Int ?? 0) < 95, "duplicates are looked up once")
            let rejects = try #require(report["rejects"] as? [[String: Any]])
            #expect(rejects.map { $0["row"] as? Int } == [20, 40, 60, 80, 100])
            #expect(rejects.allSatisfy { ($0["reason"] as? String)?.contains("msisdn") == true })
            #expect(sandbox.stats.requests == 0)
            #expect(!FileManager.default.fileExists(atPath: workspace.output), "validate writes nothing")

            let text = try await BatchRunnerProcess.run(["validate", workspace.jobFile], environment: sandbox.credentials)
            #expect(text.stdout.contains("100 rows, 95 accepted, 5 rejected") && text.stdout.contains("row 20 (key C20)"))
        }

        @Test func validateExitsWithTheDocumentedCodes() async throws {
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: "http://127.0.0.1:9")
            try workspace.writeManifest(Manifests.numbers(count: 3))
            let noCredentials = try await BatchRunnerProcess.run(["validate", workspace.jobFile])
            #expect(noCredentials.status == 78 && noCredentials.stderr.contains("KPN_CLIENT_ID"))
            #expect(try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--sandbox"]).status == 0)
            try workspace.writeManifest("customer_id,phone\nC1,0612345678\n")
            let missingColumn = try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--sandbox"])
            #expect(missingColumn.status == 65 && missingColumn.stderr.contains("msisdn"))
            try "kind: number-verify\nmanifest: manifest.csv\nconcurency: 3\n".write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            #expect(try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--sandbox"]).status == 78)
        }
    }
}

extension EndToEnd.OperationsTests {
    @Test func theMetricsFileIsWrittenAtomicallyAndMatchesTheSummary() async throws {
        let sandbox = try await RunningSandbox.start {
            $0.quota = .init(limit: 1_000, interval: 1, unit: .hour)
            $0.bareNotFoundNumbers = [Manifests.number(1)]
        }
        let workspace = try Workspace()
        try workspace.writeNumberVerifyJob(origin: sandbox.origin)
        try workspace.writeManifest(Manifests.numbers(count: 120, rejectEvery: 40, notFoundEvery: 25))
        let metricsFile = workspace.folder + "/metrics/batch_runner.prom"
        let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--metrics-file", metricsFile], environment: sandbox.credentials)
        #expect(outcome.status == 3, "\(outcome.stderr)")
        let text = try String(contentsOfFile: metricsFile, encoding: .utf8)
        func sample(_ name: String, _ state: String? = nil) -> Double? {
            let line = text.split(separator: "\n").first { line in
                line.hasPrefix(name + "{") && (state.map { line.contains("state=\"\($0)\"") } ?? true)
            }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let summary = try workspace.summary()
        #expect(sample("batch_runner_rows", "succeeded") == Double(summary["succeeded"] as? Int ?? -1))
        #expect(sample("batch_runner_rows", "failed") == 1)
        #expect(sample("batch_runner_rows", "not_found") == 4)
        #expect(sample("batch_runner_rows", "rejected") == 3)
        #expect(sample("batch_runner_rows", "pending") == 0)
        #expect(sample("batch_runner_requests_total") == Double(summary["requests"] as? Int ?? -1))
        #expect(sample("batch_runner_quota_limit") == 1_000)
        #expect(sample("batch_runner_exit_code") == 3)
        #expect((sample("batch_runner_last_success_timestamp_seconds") ?? 0) > 1_700_000_000)
        let mode = try FileManager.default.attributesOfItem(atPath: metricsFile)[.posixPermissions] as? Int
        #expect(mode == 0o644, "node_exporter must read it")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.folder + "/metrics") == ["batch_runner.prom"], "no temporary file left")
        #expect(!outcome.stderr.contains("\u{1B}[K"), "no progress line off a terminal")
    }
}
