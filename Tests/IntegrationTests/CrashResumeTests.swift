import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// The promise that nothing is lost and nothing is sent twice, tested the hard way: runs killed with SIGKILL at
    /// random moments, resumed each time, and checked against the sandbox's own count of what it served.
    @Suite(.timeLimit(.minutes(5)))
    struct CrashResumeTests {
        /// Kills a run of `job` once `sandbox` has served between `minimum` and `maximum` more requests (chosen by
        /// `random`), then checks what an observer would find at that instant with `checkKillPoint`.
        func killAtRandomMoments(
            times: Int,
            sandbox: RunningSandbox,
            workspace: Workspace,
            environment: [String: String],
            requests range: ClosedRange<Int>,
            random: inout some RandomNumberGenerator,
            checkKillPoint: () async throws -> Void
        ) async throws {
            for _ in 1...times {
                let before = sandbox.stats.requests
                let target = before + Int.random(in: range, using: &random)
                let run = BatchRunnerProcess(["run", workspace.jobFile], environment: environment)
                try run.start()
                try await waitUntil { sandbox.stats.requests >= target || !run.process.isRunning }
                run.signal(SIGKILL)
                let outcome = await run.finish()
                #expect(outcome.status != 0 || outcome.stderr.isEmpty, "a run that ended before its kill must have ended well")
                try await checkKillPoint()
            }
        }

        @Test func numberVerifySurvivesFiveKillsWithoutLosingOrRepeatingRows() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            let concurrency = 16
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, concurrency: concurrency)
            let count = 20_000
            try workspace.writeManifest(Manifests.numbers(count: count, duplicateEvery: 40, rejectEvery: 101))
            var random = SplitMix64(seed: 2026)
            let kills = 5
            var killPoints = 0
            try await killAtRandomMoments(
                times: kills, sandbox: sandbox, workspace: workspace, environment: sandbox.credentials,
                requests: 300...2_500, random: &random
            ) {
                // results.csv is the last clean exit's, untouched by the killed run: it parses cleanly, a row once.
                if killPoints > 0 {
                    let rows = try workspace.csv("results.csv")
                    #expect(rows.count > 1 && rows.allSatisfy { $0.count == 11 })
                    #expect(Set(rows.map { $0[0] }).count == rows.count)
                }
                killPoints += 1
                // A short clean run between kills, so the next kill point has a results.csv to read.
                let sample = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--limit", "100"], environment: sandbox.credentials)
                #expect(sample.status == 0, "\(sample.stderr)")
            }

            let final = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(final.status == 0, "\(final.stderr)")
            let results = try workspace.csv("results.csv")
            #expect(results.allSatisfy { $0.count == 11 })
            let rows = results.dropFirst()
            let rejects = try workspace.csv("rejects.csv").dropFirst()
            #expect(rows.count + rejects.count == count, "every data row is in results.csv or rejects.csv")
            #expect(Set(rows.map { $0[0] }).count == rows.count, "no row twice")
            for row in rows {
                let insight = SandboxNumbers.insight(for: row[2])
                #expect(row[3] == "ok" && row[4] == insight?.operatorName && row[5] == insight?.regionCode, "\(row)")
            }
            let served = sandbox.stats.served
            let numbers = Set(rows.map { $0[2] })
            #expect(Set(served.keys) == numbers, "every accepted number was looked up")
            let repeats = served.values.reduce(0) { $0 + $1 - 1 }
            #expect(repeats <= kills * concurrency, "only rows in flight at a kill are sent again: \(repeats)")
            #expect(served.values.allSatisfy { $0 <= 1 + kills })
        }

        @Test func pimQRKeepsEverySVGWholeAcrossKills() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(2) }
            let workspace = try Workspace()
            let concurrency = 8
            try """
                kind: pim-qr
                manifest: manifest.csv
                output: out
                columns: { key: customer_id }
                concurrency: \(concurrency)
                endpoints:
                  base: \(sandbox.origin)/kpn/qrcodegenerator
                  token: \(sandbox.origin)/oauth/client_credential/accesstoken?grant_type=client_credentials
                pim: { title: "Hello {first_name}", attributes: [Email, Mobile] }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            let count = 3_000
            try workspace.writeManifest("customer_id,first_name\n" + (1...count).map { "K\($0),Name\($0)\n" }.joined())
            var random = SplitMix64(seed: 7)
            let kills = 5
            try await killAtRandomMoments(
                times: kills, sandbox: sandbox, workspace: workspace, environment: sandbox.credentials,
                requests: 100...500, random: &random
            ) {
                for name in Self.files(workspace.output + "/qr") where name.hasSuffix(".svg") {
                    let text = try String(contentsOfFile: workspace.output + "/qr/" + name, encoding: .utf8)
                    #expect(text.hasPrefix("<?xml") && text.hasSuffix("</svg>"), "\(name) is whole")
                }
            }
            let final = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(final.status == 0, "\(final.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == count && rows.allSatisfy { $0[2] == "ok" })
            #expect(Self.files(workspace.output + "/qr").filter { $0.hasSuffix(".svg") }.count == count)
            #expect(!Self.files(workspace.output + "/qr").contains { $0.hasPrefix(".") }, "no temporary file left")
            let repeats = sandbox.stats.served.values.reduce(0) { $0 + $1 - 1 }
            #expect(repeats <= kills * concurrency)
        }

        @Test func anIDScanExportKeepsSHA256SUMSTrueAcrossKills() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.latency = .milliseconds(2)
                $0.reportBytes = 50_000
            }
            let workspace = try Workspace()
            let concurrency = 8
            try """
                kind: idscan-reports
                manifest: manifest.csv
                output: out
                concurrency: \(concurrency)
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                idscan: { report: both }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            let count = 1_500
            let (text, _) = IDScanReportsEndToEndTests.manifest(count)
            try workspace.writeManifest(text)
            var random = SplitMix64(seed: 11)
            let kills = 5
            try await killAtRandomMoments(
                times: kills, sandbox: sandbox, workspace: workspace, environment: sandbox.idscanCredentials,
                requests: 150...600, random: &random
            ) {
                for name in Self.files(workspace.output + "/reports") where name.hasSuffix(".pdf") {
                    #expect(IDScanReportsEndToEndTests.isCompletePDF(workspace.output + "/reports/" + name), "\(name)")
                }
                // A short clean run after each kill writes SHA256SUMS, which must hold while the next kill strikes.
                let sample = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--limit", "5"], environment: sandbox.idscanCredentials)
                #expect(sample.status == 0, "\(sample.stderr)")
                #expect(try IDScanReportsEndToEndTests.sha256sumCheck(workspace).status == 0)
            }
            let final = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(final.status == 0, "\(final.stderr)")
            let check = try IDScanReportsEndToEndTests.sha256sumCheck(workspace)
            #expect(check.status == 0, "\(check.output)")
            let listed = try workspace.read("reports/SHA256SUMS").split(separator: "\n").map { String($0.split(separator: " ").last ?? "") }
            #expect(listed.sorted() == Self.files(workspace.output + "/reports").filter { $0.hasSuffix(".pdf") })
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == count && rows.allSatisfy { $0[3] == "ok" })
            let repeats = sandbox.stats.served.values.reduce(0) { $0 + $1 - 1 }
            // A row fetches two reports (expired ones: the extended refusal is not "served"), so a kill repeats at most
            // two requests per row in flight.
            #expect(repeats <= kills * concurrency * 2)
        }

        static func files(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        }
    }
}
