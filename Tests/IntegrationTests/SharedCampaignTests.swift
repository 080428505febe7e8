import Foundation
import Sandbox
import Testing
import TestSupport

extension EndToEnd {
    /// Several workers on one campaign in a real PostgreSQL server (Debian's `postgresql`, a throwaway cluster),
    /// counted at the sandbox: every row exactly once, a dead worker's rows taken over after its lease, one quota
    /// for all of them, and the output folder from the store alone.
    @Suite(.timeLimit(.minutes(5)))
    struct SharedCampaignTests {
        static func numberVerifyBody(_ origin: String, concurrency: Int = 8) -> String {
            """
            kind: number-verify
            columns: { msisdn: msisdn, key: customer_id }
            concurrency: \(concurrency)
            endpoints:
              base: \(origin)/communication/kpn/numberverify
              token: \(origin)/communication/kpn/numberverify/token
            retry: { max_attempts: 6, base_delay: 20ms, max_delay: 200ms }
            """
        }

        static func workers(_ status: [String: Any]) -> [[String: Any]] { status["workers"] as? [[String: Any]] ?? [] }

        @Test func threeWorkersOneKilledOneStoppedFinishEveryRowExactlyOnce() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(1) }
            let concurrency = 8
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), lease: "4s", body: Self.numberVerifyBody(sandbox.origin, concurrency: concurrency))
            let count = 20_000
            try campaign.workspace.writeManifest(Manifests.numbers(count: count))
            let credentials = sandbox.credentials
            let first = try campaign.start(worker: 1, credentials: credentials)
            let second = try campaign.start(worker: 2, credentials: credentials)
            let third = try campaign.start(worker: 3, credentials: credentials)

            try await waitUntil { sandbox.stats.requests >= 3_000 }
            first.signal(SIGKILL)
            _ = await first.finish()
            // Within its lease the dead worker still holds its rows: nobody sends them yet.
            let afterKill = Self.workers(try await campaign.status(worker: 2))
            let killed = afterKill.first { ($0["pid"] as? Int) == Int(first.process.processIdentifier) }
            #expect(killed?["live"] as? Bool == true, "the lease outlives the kill: \(afterKill)")

            try await waitUntil { sandbox.stats.requests >= 8_000 }
            second.signal(SIGTERM)
            let stopped = await second.finish()
            #expect(stopped.status == 75, "a stopped worker exits 75: \(stopped.stderr)")

            let restarted = try await campaign.run(worker: 4, credentials: credentials)
            let last = await third.finish()
            #expect(restarted.status == 0, "\(restarted.stderr)")
            #expect(last.status == 0, "\(last.stderr)")

            for worker in [3, 4] {
                let rows = try campaign.csv("results.csv", worker: worker).dropFirst()
                #expect(rows.count == count, "worker \(worker) writes the whole campaign")
                #expect(Set(rows.map { $0[0] }).count == count, "no row twice")
                #expect(rows.allSatisfy { $0[3] == "ok" })
            }
            let served = sandbox.stats.served
            #expect(served.count == count, "every number was looked up")
            let repeats = served.values.reduce(0) { $0 + $1 - 1 }
            #expect(repeats <= concurrency, "only the killed worker's rows in flight are sent again: \(repeats)")
            let afterwards = Self.workers(try await campaign.status())
            #expect(afterwards.allSatisfy { ($0["live"] as? Bool) == false && ($0["rows_held"] as? Int) == 0 }, "\(afterwards)")
        }

        @Test func threeWorkersShareOneQuotaWithoutA429() async throws {
            let logPath = NSTemporaryDirectory() + "batch-runner-requests-\(UUID().uuidString).jsonl"
            let (limit, window) = (100, 2.0)
            let sandbox = try await RunningSandbox.start {
                $0.quota = SandboxConfiguration.Quota(limit: limit, interval: Int(window), unit: .second)
                $0.requestLogPath = logPath
            }
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: Self.numberVerifyBody(sandbox.origin))
            let count = 1_000
            try campaign.workspace.writeManifest(Manifests.numbers(count: count))
            let workers = try (1...3).map { try campaign.start(worker: $0, credentials: sandbox.credentials) }
            for worker in workers {
                let outcome = await worker.finish()
                #expect(outcome.status == 0, "\(outcome.stderr)")
            }
            #expect(sandbox.stats.count(.rateLimited) == 0, "no worker was ever told to slow down")
            #expect(sandbox.stats.served.count == count)

            // The sandbox's windows start at the first call after the last one ended (Apigee's flexible quota).
            let entries = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").compactMap {
                try? JSONDecoder().decode(RequestLog.Entry.self, from: Data($0.utf8))
            }.filter { $0.outcome != .rateLimited && !$0.endpoint.contains("token") }.sorted { $0.time < $1.time }
            var windows: [Int] = []
            var start: Double?
            for entry in entries {
                if let begun = start, entry.time < begun + window {
                    windows[windows.count - 1] += 1
                } else {
                    start = entry.time
                    windows.append(1)
                }
            }
            #expect(windows.count >= 8, "\(windows)")
            #expect(windows.allSatisfy { $0 <= limit }, "no window over the limit: \(windows)")
            // Every window that began with more rows left than a window takes: the windows in which the campaign
            // runs out of rows are held back by the last rows' spread over the workers, not by the quota.
            var remaining = count
            var full: [Int] = []
            for calls in windows {
                if remaining > limit { full.append(calls) }
                remaining -= calls
            }
            #expect(full.count >= 8, "\(windows)")
            #expect(full.allSatisfy { Double($0) >= 0.98 * Double(limit) }, "every full window used: \(windows)")
        }

        /// A gateway that enforces its quota silently (no quota headers, 429s without `Retry-After`): the workers
        /// share one learner through the store, so together they meet about as few 429s as one process.
        @Test func threeWorkersWithoutQuotaHeadersShareOneLearner() async throws {
            let (limit, window, count) = (60, 2, 600)
            let sandbox = try await RunningSandbox.start {
                $0.quota = SandboxConfiguration.Quota(limit: limit, interval: window, unit: .second)
                $0.sendsQuotaHeaders = false
            }
            let server = try PostgresServer.shared()
            // A lease of 15 s: this test is about the learner, and the CPU-bound simulation suites run beside it on two
            // cores (once all three workers missed a 3-s lease together).
            let campaign = try SharedCampaign(server: server, lease: "15s", body: Self.numberVerifyBody(sandbox.origin, concurrency: 4))
            try campaign.workspace.writeManifest(Manifests.numbers(count: count))
            let workers = try (1...3).map { try campaign.start(worker: $0, credentials: sandbox.credentials) }
            for worker in workers {
                let outcome = await worker.finish()
                #expect(outcome.status == 0, "\(outcome.stderr)")
            }
            #expect(sandbox.stats.served.count == count, "every number was looked up")
            let limited = sandbox.stats.count(.rateLimited)
            #expect(limited >= 1, "the gateway's limit was met")
            // The ledger of this sandbox's quota paced the workers with one learned rate.
            let rate = try server.psql(
                "SELECT state::json->'learner'->>'ratePerSecond' FROM batch_runner_shared_quota WHERE limiter LIKE '127.0.0.1:\(sandbox.port)|%'",
                database: PostgresServer.database
            ).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(Double(rate).map { $0 > 0 } == true, "a shared learned rate: `\(rate)`")
            // What `status` shows is that rate (the workers' own limiters do not pace), not a third of it.
            let shown = try server.psql(
                "SELECT learned_rate FROM batch_runner_quota WHERE limiter LIKE '127.0.0.1:\(sandbox.port)|%'",
                database: PostgresServer.database
            ).trimmingCharacters(in: .whitespacesAndNewlines)
            if let shown = Double(shown), let rate = Double(rate) {
                #expect(shown > rate / 1.5 && shown < rate * 1.5, "status shows \(shown)/s, the ledger learned \(rate)/s")
            } else {
                Issue.record("no learned rate saved for status: `\(shown)`")
            }
            // The goal (at most 3%) is measured by `bench.py postgres --variant quota-no-headers` and the simulation
            // (SharedLearnerTests); here, beside other suites on a busy machine, a bound that still fails the AIMD
            // rate this learner replaced.
            let share = Double(limited) / Double(count + limited)
            #expect(share <= 0.06, "429s: \(limited) for \(count) rows")
        }

        @Test func idscanCreateWithTwoWorkersAndAKillNeverCreatesATransactionTwice() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(150) }
            let body = """
                kind: idscan-create
                columns: { key: customer_id }
                concurrency: 4
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                retry: { max_attempts: 6, base_delay: 20ms, max_delay: 200ms }
                http: { timeout: 5s }
                idscan: { tasks: [document_scan], locale: nl-NL, expires_in: 7200, return_url: "https://example.com/done?customer={key}" }
                """
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: body)
            let count = 60
            try campaign.workspace.writeManifest("customer_id,name\n" + (1...count).map { "C\($0),Name \($0)\n" }.joined())
            let first = try campaign.start(worker: 1, credentials: sandbox.idscanCredentials)
            let second = try campaign.start(worker: 2, credentials: sandbox.idscanCredentials)
            try await waitUntil { sandbox.stats.requests >= 15 }
            first.signal(SIGKILL)
            _ = await first.finish()
            let survivor = await second.finish()
            #expect(survivor.status == 3 || survivor.status == 0, "\(survivor.stderr)")
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 }, "no transaction created twice")
            let rows = try campaign.csv("results.csv", worker: 2).dropFirst()
            #expect(rows.count == count)
            let unknown = rows.filter { $0[2] == "unknown" }
            #expect(unknown.count <= 4, "at most the killed worker's requests in flight are unknown")
            #expect(rows.allSatisfy { $0[2] == "ok" || $0[2] == "unknown" })

            let retried = try await campaign.run(worker: 2, credentials: sandbox.idscanCredentials, arguments: ["--retry-unknown"])
            #expect(retried.status == 0, "\(retried.stderr)")
            #expect(try campaign.csv("results.csv", worker: 2).dropFirst().allSatisfy { $0[2] == "ok" })
        }

        @Test func twoPimQRWorkersThenExportEqualASingleSQLiteRun() async throws {
            let sandbox = try await RunningSandbox.start()
            let body = """
                kind: pim-qr
                columns: { key: customer_id }
                concurrency: 4
                endpoints:
                  base: \(sandbox.origin)/kpn/qrcodegenerator
                  token: \(sandbox.origin)/oauth/client_credential/accesstoken?grant_type=client_credentials
                pim: { redirect: 1, title: "Hello {first_name}", attributes: [Email, Mobile], width: 300, height: 300 }
                """
            let manifest = "customer_id,first_name\n" + (1...150).map { "K\($0),Name\($0)\n" }.joined()
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: body)
            try campaign.workspace.writeManifest(manifest)
            let workers = try [1, 2].map { try campaign.start(worker: $0, credentials: sandbox.credentials) }
            for worker in workers { #expect(await worker.finish().status == 0) }

            let single = try Workspace()
            try "\(body)\nmanifest: manifest.csv\noutput: out\n".write(toFile: single.jobFile, atomically: true, encoding: .utf8)
            try single.writeManifest(manifest)
            #expect(try await BatchRunnerProcess.run(["run", single.jobFile], environment: sandbox.credentials).status == 0)

            let exported = campaign.workspace.folder + "/exported"
            let export = try await BatchRunnerProcess.run(["export", campaign.jobFile(1), "--output", exported], environment: campaign.environment([:]))
            #expect(export.status == 0, "\(export.stderr)")
            let svgs = try FileManager.default.contentsOfDirectory(atPath: exported + "/qr").sorted()
            #expect(svgs == (try FileManager.default.contentsOfDirectory(atPath: single.output + "/qr").sorted()))
            #expect(svgs.count == 150)
            for name in svgs {
                #expect(FileManager.default.contents(atPath: exported + "/qr/" + name) == FileManager.default.contents(atPath: single.output + "/qr/" + name))
            }
            let stripAttempts: ([String]) -> [String] = { Array($0.prefix(3)) + Array($0.dropFirst(4)) }
            let exportedRows = try Workspace(folder: exported).csv("results.csv", inOutput: false).map(stripAttempts)
            #expect(exportedRows == (try single.csv("results.csv").map(stripAttempts)))
        }

        @Test func twoReportWorkersThenExportPassesSha256sumOnAFreshFolder() async throws {
            let sandbox = try await RunningSandbox.start()
            let body = """
                kind: idscan-reports
                concurrency: 4
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                retry: { max_attempts: 6, base_delay: 20ms, max_delay: 200ms }
                idscan: { report: simple, images: true }
                """
            let (manifest, _) = IDScanReportsEndToEndTests.manifest(60)
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: body)
            try campaign.workspace.writeManifest(manifest)
            let workers = try [1, 2].map { try campaign.start(worker: $0, credentials: sandbox.idscanCredentials) }
            for worker in workers { #expect(await worker.finish().status == 0) }

            let single = try Workspace()
            try "\(body)\nmanifest: manifest.csv\noutput: out\n".write(toFile: single.jobFile, atomically: true, encoding: .utf8)
            try single.writeManifest(manifest)
            #expect(try await BatchRunnerProcess.run(["run", single.jobFile], environment: sandbox.idscanCredentials).status == 0)

            let exported = Workspace(folder: campaign.workspace.folder + "/fresh")
            let export = try await BatchRunnerProcess.run(["export", campaign.jobFile(2), "--output", exported.output], environment: campaign.environment([:]))
            #expect(export.status == 0, "\(export.stderr)")
            let check = try IDScanReportsEndToEndTests.sha256sumCheck(exported)
            #expect(check.status == 0, "\(check.output)")
            for folder in ["reports", "images"] {
                let files = IDScanReportsEndToEndTests.files(exported, folder).filter { !$0.hasSuffix(".csv") && $0 != "SHA256SUMS" }
                #expect(files == IDScanReportsEndToEndTests.files(single, folder).filter { !$0.hasSuffix(".csv") && $0 != "SHA256SUMS" })
                #expect(!files.isEmpty)
                for name in files {
                    #expect(FileManager.default.contents(atPath: exported.output + "/\(folder)/" + name) == FileManager.default.contents(atPath: single.output + "/\(folder)/" + name))
                }
            }
            #expect(try exported.csv("results.csv").count == 61)
        }

        @Test func exportOfAPostgreSQLCampaignMakesARunsFolderChecksAndTrustsNoStoredPath() async throws {
            let sandbox = try await RunningSandbox.start()
            let server = try PostgresServer.shared()
            let body = """
                kind: idscan-reports
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                idscan: { report: simple }
                """
            let campaign = try SharedCampaign(server: server, body: body)
            try campaign.workspace.writeManifest(IDScanReportsEndToEndTests.manifest(6).text)
            #expect(try await campaign.run(worker: 1, credentials: sandbox.idscanCredentials).status == 0)
            try await OperationsTests.expectExportRefusals(
                jobFile: campaign.jobFile(1), folder: campaign.workspace.folder, environment: campaign.environment([:])
            ) {
                try server.psql(
                    """
                    UPDATE batch_runner_files SET path = '\(OperationsTests.escapingPath)'
                    WHERE campaign = '\(campaign.campaign)' AND path = (SELECT max(path) FROM batch_runner_files WHERE campaign = '\(campaign.campaign)')
                    """,
                    database: PostgresServer.database
                )
            }
        }

        @Test func aWorkerWithoutTheManifestJoinsAndOneWithAChangedManifestExits65() async throws {
            let sandbox = try await RunningSandbox.start()
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: Self.numberVerifyBody(sandbox.origin))
            try campaign.workspace.writeManifest(Manifests.numbers(count: 300))
            #expect(try await campaign.run(worker: 1, credentials: sandbox.credentials, arguments: ["--limit", "100"]).status == 0)

            try campaign.writeJob(worker: 2, manifest: "not-on-this-pod.csv")
            let pod = try await campaign.run(worker: 2, credentials: sandbox.credentials)
            #expect(pod.status == 0, "\(pod.stderr)")
            #expect(pod.stderr.contains("joining the campaign's stored intake"))
            #expect(try campaign.csv("results.csv", worker: 2).count == 301)

            try "customer_id,msisdn\nC1,+31612345678\n".write(toFile: campaign.workspace.folder + "/changed.csv", atomically: true, encoding: .utf8)
            try campaign.writeJob(worker: 3, manifest: "changed.csv")
            let changed = try await campaign.run(worker: 3, credentials: sandbox.credentials)
            #expect(changed.status == 65, "\(changed.stderr)")
            #expect(changed.stderr.contains("changed since"))
            #expect(sandbox.stats.served.count == 300)
        }

        @Test func restartIsRefusedWhileAnotherWorkerHoldsTheCampaign() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(20) }
            let campaign = try SharedCampaign(server: try PostgresServer.shared(), body: Self.numberVerifyBody(sandbox.origin, concurrency: 2))
            try campaign.workspace.writeManifest(Manifests.numbers(count: 2_000))
            let worker = try campaign.start(worker: 1, credentials: sandbox.credentials)
            try await waitUntil { sandbox.stats.requests >= 20 }
            let status = try await campaign.status(worker: 2)
            #expect(status["campaign"] as? String == campaign.campaign)
            #expect(Self.workers(status).contains { ($0["live"] as? Bool) == true && ($0["rows_held"] as? Int ?? 0) > 0 }, "\(status)")
            let restart = try await campaign.run(worker: 2, credentials: sandbox.credentials, arguments: ["--restart"])
            #expect(restart.status == 75, "\(restart.stderr)")
            #expect(restart.stderr.contains("live worker"))
            worker.signal(SIGTERM)
            #expect(await worker.finish().status == 75)
            let fresh = try await campaign.run(worker: 2, credentials: sandbox.credentials, arguments: ["--restart", "--limit", "0"])
            #expect(fresh.status == 75 || fresh.status == 0, "\(fresh.stderr)")
            #expect(try await campaign.status()["succeeded"] as? Int == 0, "the restart discarded the campaign's progress")
        }

        @Test func aDatabaseThatCannotBeUsedExits69BeforeAnyRequest() async throws {
            let sandbox = try await RunningSandbox.start()
            let server = try PostgresServer.shared()
            let campaign = try SharedCampaign(server: server, body: Self.numberVerifyBody(sandbox.origin))
            try campaign.workspace.writeManifest(Manifests.numbers(count: 10))
            let wrongPassword = try await BatchRunnerProcess.run(
                ["run", campaign.jobFile(1)], environment: sandbox.credentials.merging(["PGPASSWORD": "not-the-password"]) { $1 }
            )
            #expect(wrongPassword.status == 69)
            #expect(wrongPassword.stderr.contains("127.0.0.1:\(server.port)/batch") && wrongPassword.stderr.contains("login"))
            #expect(!wrongPassword.stderr.contains("not-the-password"))

            let port = try FreePort.pick()
            try "\(Self.numberVerifyBody(sandbox.origin))\nmanifest: manifest.csv\nstate: postgresql://runner@127.0.0.1:\(port)/batch?sslmode=disable\n"
                .write(toFile: campaign.jobFile(2), atomically: true, encoding: .utf8)
            let unreachable = try await BatchRunnerProcess.run(["run", campaign.jobFile(2)], environment: campaign.environment(sandbox.credentials))
            #expect(unreachable.status == 69)
            #expect(unreachable.stderr.contains("127.0.0.1:\(port)/batch"))

            try "\(Self.numberVerifyBody(sandbox.origin))\nmanifest: manifest.csv\nstate: postgresql://runner:pw@127.0.0.1/batch\n"
                .write(toFile: campaign.jobFile(3), atomically: true, encoding: .utf8)
            let inline = try await BatchRunnerProcess.run(["run", campaign.jobFile(3)], environment: sandbox.credentials)
            #expect(inline.status == 78)
            #expect(inline.stderr.contains("state_password_env") && !inline.stderr.contains("pw@"))
            #expect(sandbox.stats.requests == 0, "nothing was sent")
        }

        /// `sslmode=verify-full` against a real server whose certificate was made at test time: trusted through
        /// `http.ca_file`, the campaign runs; without the CA the run ends with 69 before any request, naming TLS.
        @Test func verifyFullTrustsTheCAOfHTTPCAFileAndRefusesWithoutIt() async throws {
            let sandbox = try await RunningSandbox.start()
            let server = try PostgresServer.shared()
            let campaign = try SharedCampaign(server: server, body: Self.numberVerifyBody(sandbox.origin))
            try campaign.workspace.writeManifest(Manifests.numbers(count: 10))
            let state = "postgresql://\(PostgresServer.user)@localhost:\(server.port)/\(PostgresServer.database)?sslmode=verify-full"
            let job = "\(Self.numberVerifyBody(sandbox.origin))\nmanifest: manifest.csv\nstate: \(state)\ncampaign: \(campaign.campaign)\n"
            try (job + "output: out1\nhttp: { ca_file: \(server.caPath) }\n").write(toFile: campaign.jobFile(1), atomically: true, encoding: .utf8)
            try (job + "output: out2\n").write(toFile: campaign.jobFile(2), atomically: true, encoding: .utf8)

            let untrusted = try await BatchRunnerProcess.run(["run", campaign.jobFile(2), "--no-progress"], environment: campaign.environment(sandbox.credentials))
            #expect(untrusted.status == 69, "\(untrusted.stderr.suffix(600))")
            #expect(untrusted.stderr.contains("localhost:\(server.port)/batch") && untrusted.stderr.contains("TLS"), "\(untrusted.stderr.suffix(600))")
            #expect(sandbox.stats.requests == 0, "nothing was sent")

            let trusted = try await BatchRunnerProcess.run(["run", campaign.jobFile(1), "--no-progress"], environment: campaign.environment(sandbox.credentials))
            #expect(trusted.status == 0, "\(trusted.stderr.suffix(600))")
            #expect(try campaign.csv("results.csv", worker: 1).dropFirst().count == 10)
        }

        /// `validate --connect` reaches a postgresql:// state as a run would: ok with the right password, 69 with a
        /// wrong one (the password never shown), as `run` would end.
        @Test func validateConnectChecksThePostgreSQLState() async throws {
            let sandbox = try await RunningSandbox.start()
            let server = try PostgresServer.shared()
            let campaign = try SharedCampaign(server: server, body: Self.numberVerifyBody(sandbox.origin))
            try campaign.workspace.writeManifest(Manifests.numbers(count: 10))
            let good = try await BatchRunnerProcess.run(["validate", campaign.jobFile(1), "--connect"], environment: campaign.environment(sandbox.credentials))
            #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
            #expect(good.stdout.contains("state postgresql://runner@127.0.0.1:\(server.port)/batch: ok (login runner"), "\(good.stdout)")

            let environment = sandbox.credentials.merging(["PGPASSWORD": "not-the-password"]) { $1 }
            let wrong = try await BatchRunnerProcess.run(["validate", campaign.jobFile(1), "--connect", "--json"], environment: environment)
            #expect(wrong.status == 69, "\(wrong.stdout)\(wrong.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(wrong.stdout.utf8)) as? [String: Any]
            let state = (report?["connect"] as? [String: Any])?["state"] as? [String: Any]
            #expect(state?["ok"] as? Bool == false && (state?["detail"] as? String)?.contains("login") == true, "\(wrong.stdout)")
            #expect(!wrong.stdout.contains("not-the-password") && !wrong.stderr.contains("not-the-password"))
        }

        @Test func aDatabaseStoppedMidRunStopsTheWorkersWith75AndTheCampaignResumes() async throws {
            let server = try PostgresServer()
            defer { server.stop() }
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(1) }
            let campaign = try SharedCampaign(server: server, body: Self.numberVerifyBody(sandbox.origin))
            let count = 20_000
            try campaign.workspace.writeManifest(Manifests.numbers(count: count))
            let workers = try [1, 2].map { try campaign.start(worker: $0, credentials: sandbox.credentials) }
            try await waitUntil { sandbox.stats.requests >= 2_000 }
            server.stop()
            for worker in workers {
                let outcome = await worker.finish()
                #expect(outcome.status == 75, "\(outcome.stderr)")
                #expect(outcome.stderr.contains("connection to the state database"))
            }
            try server.start()
            let resumed = try await campaign.run(worker: 1, credentials: sandbox.credentials)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            let rows = try campaign.csv("results.csv", worker: 1).dropFirst()
            #expect(rows.count == count)
            #expect(Set(rows.map { $0[0] }).count == count)
            #expect(sandbox.stats.served.count == count, "nothing lost")
            let repeats = sandbox.stats.served.values.reduce(0) { $0 + $1 - 1 }
            #expect(repeats <= 2 * 8, "at most the rows in flight when the database went away: \(repeats)")
        }
    }
}
