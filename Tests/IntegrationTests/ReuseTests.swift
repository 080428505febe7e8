import Crypto
import Foundation
import Sandbox
import Testing
import TestSupport

extension EndToEnd {
    /// `reuse`: quota spent once. A recurring job's next campaign finishes the rows an earlier one answered within
    /// the window, for the same request, without sending them; `validate` says how many beforehand.
    @Suite(.timeLimit(.minutes(3)))
    struct ReuseTests {
        /// Night one's manifest and night two's overlap: with `reuse: 1d`, only the new numbers reach the service;
        /// the others carry night one's answers (`not_found` included), with attempts 0, counted in `reused`.
        func expectReuse(night: (Int) throws -> Void, run: () async throws -> BatchRunnerProcess.Outcome, results: () throws -> [[String]], summary: () throws -> [String: Any], sandbox: RunningSandbox) async throws {
            try night(1)
            #expect(try await run().status == 0)
            let first = try results()
            #expect(sandbox.stats.served.count == 11)
            try night(2)
            let second = try await run()
            #expect(second.status == 0, "\(second.stderr.suffix(600))")
            #expect(sandbox.stats.served.count == 15, "only the four new numbers were looked up")
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 }, "no number twice")
            let rows = try results().dropFirst()
            #expect(rows.count == 11)
            let earlier = Dictionary(first.dropFirst().map { ($0[2], $0) }, uniquingKeysWith: { a, _ in a })
            for row in rows where earlier[row[2]] != nil {
                #expect(row[3...8] == earlier[row[2]]![3...8], "the earlier answer's columns, unchanged")
                #expect(row[9] == "0", "attempts 0")
            }
            #expect(rows.contains { $0[3] == "not_found" && $0[9] == "0" })
            let counts = try summary()
            #expect(counts["reused"] as? Int == 7 && counts["succeeded"] as? Int == 10 && counts["not_found"] as? Int == 1, "\(counts)")
        }

        static func nightManifest(_ night: Int) -> String {
            let numbers = night == 1 ? Array(1...10) : Array(5...14)
            return "customer_id,msisdn\n" + numbers.map { "C\($0),+\(Manifests.number($0))\n" }.joined() + "C404,0612000404\n"
        }

        @Test func answersFromYesterdayAreReusedNotBoughtAgain() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "on_new_manifest: start_over\nreuse: 1d\n")
            try await expectReuse(
                night: { try workspace.writeManifest(Self.nightManifest($0)) },
                run: { try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials) },
                results: { try workspace.csv("results.csv") }, summary: { try workspace.summary() }, sandbox: sandbox
            )
        }

        @Test func answersAreReusedOnAPostgreSQLCampaignToo() async throws {
            let sandbox = try await RunningSandbox.start()
            let campaign = try SharedCampaign(
                server: try PostgresServer.shared(), body: SharedCampaignTests.numberVerifyBody(sandbox.origin) + "\non_new_manifest: start_over\nreuse: 1d"
            )
            try await expectReuse(
                night: { try campaign.workspace.writeManifest(Self.nightManifest($0)) },
                run: { try await campaign.run(worker: 1, credentials: sandbox.credentials) },
                results: { try campaign.csv("results.csv", worker: 1) },
                summary: { try Workspace(folder: campaign.output(1)).summary(inOutput: false) }, sandbox: sandbox
            )
        }

        static func customers(_ keys: ClosedRange<Int>, changed: Int? = nil) -> String {
            "customer_id,title\n" + keys.map { "K\($0),T-K\($0)\($0 == changed ? "-new" : "")\n" }.joined()
        }

        /// A pim-qr answer is a file: night two reuses night one's QR codes for the customers whose request is the
        /// same (K4, K6), restoring their SVGs into the new qr/ unchanged, and sends the changed (K5) and new ones.
        /// `validate` counts the reuse before the run.
        @Test func qrCodesFromYesterdayAreReusedWithTheirFiles() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try workspace.writePimQRJob(origin: sandbox.origin, extra: "on_new_manifest: start_over\nreuse: 1d")
            try workspace.writeManifest(Self.customers(1...6))
            let first = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials)
            #expect(first.status == 0, "\(first.stderr.suffix(600))")
            let nightOne = Dictionary(try workspace.csv("results.csv").dropFirst().map { ($0[1], $0) }, uniquingKeysWith: { a, _ in a })

            try workspace.writeManifest(Self.customers(4...9, changed: 5))
            let check = try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--json"], environment: sandbox.credentials)
            #expect(check.status == 0, "\(check.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any]
            #expect(report?["reused"] as? Int == 2 && report?["requests"] as? Int == 4, "\(check.stdout)")
            let text = try await BatchRunnerProcess.run(["validate", workspace.jobFile], environment: sandbox.credentials)
            #expect(text.stdout.contains("reuse 24h00m00s: 2 rows have an answer"), "\(text.stdout)")

            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: sandbox.credentials)
            #expect(second.status == 0, "\(second.stderr.suffix(600))")
            #expect(sandbox.stats.served.count == 10 && sandbox.stats.served.values.allSatisfy { $0 == 1 }, "only K5 (changed), K7, K8, K9 were sent: \(sandbox.stats.served)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.map { $0[1] } == (4...9).map { "K\($0)" })
            for row in rows {
                #expect(row[2] == "ok", "\(row)")
                let bytes = try Data(contentsOf: URL(fileURLWithPath: workspace.output + "/" + row[3]))
                #expect(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == row[4] && String(bytes.count) == row[5], "\(row[3]) is the file its row describes")
                let reused = ["K4", "K6"].contains(row[1])
                #expect((row[6] == "0") == reused, "attempts 0 for the reused rows only: \(row)")
                if reused { #expect(row[3...5] == nightOne[row[1]]![3...5], "the earlier answer's columns, unchanged") }
            }
            #expect(try workspace.summary()["reused"] as? Int == 2)
            let archives = try FileManager.default.contentsOfDirectory(atPath: workspace.output + "/history")
            #expect(archives.count == 1)
            let archived = try FileManager.default.contentsOfDirectory(atPath: workspace.output + "/history/" + archives[0] + "/qr")
            #expect(archived.sorted() == (1...6).map { "K\($0).svg" }, "night one's files stay in its archive")
        }
    }
}
