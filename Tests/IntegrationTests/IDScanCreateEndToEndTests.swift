import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// idscan-create through the real binary: transactions are created once per key, never twice silently.
    @Suite(.timeLimit(.minutes(2)))
    struct IDScanCreateEndToEndTests {
        func writeJob(_ workspace: Workspace, origin: String, concurrency: Int = 4) throws {
            try """
                kind: idscan-create
                manifest: manifest.csv
                output: out
                columns: { key: customer_id }
                concurrency: \(concurrency)
                endpoints: { base: \(origin)/id-scan/v1 }
                retry: { max_attempts: 6, base_delay: 20ms, max_delay: 200ms }
                http: { timeout: 5s }
                idscan:
                  tasks: [document_scan, face_liveness]
                  locale: nl-NL
                  expires_in: 7200
                  return_url: https://example.com/done?customer={key}
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
        }

        func customers(_ count: Int) -> String {
            "customer_id,name\n" + (1...count).map { "C\($0),Name \($0)\n" }.joined()
        }

        @Test func everyCustomerGetsOneTransaction() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin)
            try workspace.writeManifest(customers(50) + "C7,again\n,empty\n")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let results = try workspace.csv("results.csv")
            #expect(results.first == ["row", "key", "status", "transaction_id", "url", "expires", "attempts", "error"])
            let rows = results.dropFirst()
            #expect(rows.count == 50)
            #expect(rows.allSatisfy { $0[2] == "ok" && !$0[3].isEmpty && $0[4].hasPrefix("https://") && !$0[5].isEmpty })
            #expect(Set(rows.map { $0[3] }).count == 50)
            let rejects = try workspace.csv("rejects.csv").dropFirst()
            #expect(rejects.map { $0[0] } == ["51", "52"])
            #expect(rejects.first?.last?.contains("repeats row 7") == true)
            #expect(sandbox.stats.served.count == 50)
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 })

            let again = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(again.status == 0)
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 })
        }

        @Test func aRunKilledMidRequestLeavesUnknownRowsNotDuplicates() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(400) }
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, concurrency: 4)
            try workspace.writeManifest(customers(24))
            let first = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            try first.start()
            try await waitUntil { sandbox.stats.requests >= 6 }
            first.signal(SIGKILL)
            _ = await first.finish()

            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(second.status == 3, "\(second.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 24)
            let unknown = rows.filter { $0[2] == "unknown" }
            #expect(!unknown.isEmpty && unknown.count <= 4, "the rows in flight at the kill: \(unknown.count)")
            #expect(unknown.allSatisfy { $0[7].contains("--retry-unknown") })
            #expect(rows.filter { $0[2] == "ok" }.count == 24 - unknown.count)
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 }, "no key created twice")
            let summary = try workspace.summary()
            #expect(summary["unknown"] as? Int == unknown.count)
            #expect(summary["exit_code"] as? Int == 3)

            // Without the flag, nothing is sent again.
            let requests = sandbox.stats.requests
            let third = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(third.status == 3)
            #expect(sandbox.stats.requests == requests)

            let retried = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--retry-unknown"], environment: sandbox.idscanCredentials)
            #expect(retried.status == 0, "\(retried.stderr)")
            #expect(sandbox.stats.requests == requests + unknown.count)
            #expect(try workspace.csv("results.csv").dropFirst().allSatisfy { $0[2] == "ok" })
        }

        @Test func serverErrorsThatMayHaveCreatedATransactionAreNotRetried() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.faultRate = 0.3
                $0.seed = 11
            }
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin)
            try workspace.writeManifest(customers(60))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(outcome.status == 3, "\(outcome.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 60)
            let unknown = rows.filter { $0[2] == "unknown" }
            let ok = rows.filter { $0[2] == "ok" }
            #expect(unknown.count + ok.count == 60)
            #expect(!unknown.isEmpty)
            // Only 503 is retried; each 500 or 502 leaves its row unknown.
            #expect(unknown.allSatisfy { $0[7].contains("HTTP 500") || $0[7].contains("HTTP 502") })
            let summary = try workspace.summary()
            let faults = sandbox.stats.count(.fault)
            #expect(faults == unknown.count + (summary["retries"] as? Int ?? -1))
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 })
        }
    }
}
