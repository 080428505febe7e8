import Crypto
import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// idscan-reports through the real binary against an in-process sandbox.
    @Suite(.timeLimit(.minutes(3)))
    struct IDScanReportsEndToEndTests {
        func writeJob(_ workspace: Workspace, origin: String, concurrency: Int = 8, idscan: String) throws {
            try """
                kind: idscan-reports
                manifest: manifest.csv
                output: out
                concurrency: \(concurrency)
                endpoints: { base: \(origin)/id-scan/v1 }
                retry: { max_attempts: 6, base_delay: 20ms, max_delay: 200ms }
                idscan: \(idscan)
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
        }

        /// A deterministic UUID-shaped id.
        static func id(_ prefix: String, _ index: Int) -> String {
            let hex = SHA256.hash(data: Data("\(prefix)\(index)".utf8)).map { String(format: "%02x", $0) }.joined()
            let characters = Array(hex)
            func part(_ range: Range<Int>) -> String { String(characters[range]) }
            return "\(part(0..<8))-\(part(8..<12))-4\(part(13..<16))-a\(part(17..<20))-\(part(20..<32))"
        }

        static func manifest(_ count: Int) -> (text: String, pairs: [(String, String)]) {
            let pairs = (1...count).map { (id("t", $0), id("r", $0)) }
            return ("transaction_id,result_id\n" + pairs.map { "\($0.0),\($0.1)\n" }.joined(), pairs)
        }

        /// `sha256sum -c SHA256SUMS` in the reports folder: the auditor's check.
        static func sha256sumCheck(_ workspace: Workspace) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = ["--check", "--strict", "SHA256SUMS"]
            process.currentDirectoryURL = URL(fileURLWithPath: workspace.output + "/reports")
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }

        static func files(_ workspace: Workspace, _ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: workspace.output + "/" + folder)) ?? []).sorted()
        }

        static func isCompletePDF(_ path: String) -> Bool {
            guard let data = FileManager.default.contents(atPath: path) else { return false }
            let text = String(decoding: data, as: UTF8.self)
            return text.hasPrefix("%PDF-") && text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("%%EOF")
        }

        @Test func fiveHundredReportsWithExpiredExtendedOnesFallBackAndVerifyWithSha256sum() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, idscan: "{ report: extended, fallback_to_simple: true, result_fields: [given_names, surname, document_number, place_of_birth] }")
            let (text, pairs) = Self.manifest(500)
            try workspace.writeManifest(text)
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")

            let results = try workspace.csv("results.csv")
            #expect(results.first == ["row", "transaction_id", "result_id", "status", "report_type", "file", "sha256", "bytes", "attempts", "error", "given_names", "surname", "document_number", "place_of_birth"])
            let rows = Array(results.dropFirst())
            #expect(rows.count == 500)
            let expired = pairs.filter { IDScanOracle.isExtendedReportExpired(transactionID: $0.0) }.count
            #expect(expired > 50 && expired < 150, "the oracle expires about a fifth: \(expired)")
            for (index, row) in rows.enumerated() {
                let (transaction, result) = pairs[index]
                #expect(row[0] == String(index + 1) && row[1] == transaction && row[2] == result)
                #expect(row[3] == "ok", "\(row)")
                let isExpired = IDScanOracle.isExtendedReportExpired(transactionID: transaction)
                #expect(row[4] == (isExpired ? "simple" : "extended"))
                #expect(row[5] == "reports/\(transaction)_\(result)_\(row[4]).pdf")
                #expect(row[9].contains("no longer available") == isExpired)
                let data = try Data(contentsOf: URL(fileURLWithPath: workspace.output + "/" + row[5]))
                #expect(SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() == row[6])
                #expect(String(data.count) == row[7])
                let fields = IDScanOracle.fields(transactionID: transaction, resultID: result)
                for (offset, name) in ["given_names", "surname", "document_number", "place_of_birth"].enumerated() {
                    let field = fields.first { $0.name == name }
                    #expect(row[10 + offset] == (field?.mrz ?? field?.visual ?? ""), "\(name)")
                }
            }
            let check = try Self.sha256sumCheck(workspace)
            #expect(check.status == 0, "\(check.output)")
            let pdfs = Self.files(workspace, "reports").filter { $0.hasSuffix(".pdf") }
            #expect(pdfs.count == 500)
            let sums = try workspace.read("reports/SHA256SUMS").split(separator: "\n")
            #expect(sums.count == 500)
            let provenance = try workspace.csv("reports/provenance.csv")
            #expect(provenance.first == ["file", "transaction_id", "result_id", "kind", "requested_at", "api_path", "http_status", "api_version", "content_type", "bytes", "sha256"])
            #expect(provenance.count == 501)
            for line in provenance.dropFirst() {
                #expect(line[5].hasPrefix("GET /id-scan/v1/transactions/\(line[1])/results/\(line[2])/report"))
                #expect(line[6] == "200" && line[7] == "v1" && line[8].hasPrefix("application/pdf"))
                #expect(line[4].hasSuffix("Z"))
            }
            // Each expired transaction asked for its extended report once, then its simple one.
            #expect(sandbox.stats.served.filter { $0.key.hasSuffix("/simple") }.count == expired)
            #expect(sandbox.stats.served.values.allSatisfy { $0 == 1 })
            let summary = try workspace.summary()
            #expect(summary["succeeded"] as? Int == 500)
        }

        @Test func bothReportsAndImagesAreSavedAndListed() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, idscan: "{ report: both, images: true }")
            let (text, pairs) = Self.manifest(30)
            try workspace.writeManifest(text)
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            for (row, pair) in zip(rows, pairs) {
                let isExpired = IDScanOracle.isExtendedReportExpired(transactionID: pair.0)
                #expect(row[4] == (isExpired ? "simple" : "simple;extended"))
                #expect(row[5].split(separator: ";").count == row[6].split(separator: ";").count)
            }
            let images = Self.files(workspace, "images")
            #expect(images.count == 60)
            #expect(images.allSatisfy { $0.hasSuffix(".jpg") })
            let check = try Self.sha256sumCheck(workspace)
            #expect(check.status == 0, "\(check.output)")
            let sums = try workspace.read("reports/SHA256SUMS")
            #expect(sums.components(separatedBy: "  ../images/").count - 1 == 60)
            let pdfCount = Self.files(workspace, "reports").filter { $0.hasSuffix(".pdf") }.count
            #expect(sums.split(separator: "\n").count == 60 + pdfCount)
        }

        @Test func aKillAndResumeLeavesNoPartialPDFAndAConsistentSHA256SUMS() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.latency = .milliseconds(15)
                $0.reportBytes = 200_000
            }
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, concurrency: 4, idscan: "{ report: extended }")
            let (text, _) = Self.manifest(300)
            try workspace.writeManifest(text)
            for round in 1...2 {
                let before = sandbox.stats.requests
                let run = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
                try run.start()
                try await waitUntil { sandbox.stats.requests >= before + 80 }
                run.signal(SIGKILL)
                _ = await run.finish()
                // What an auditor could find at this instant: only complete PDFs, and checksums that hold.
                for name in Self.files(workspace, "reports") where name.hasSuffix(".pdf") {
                    #expect(Self.isCompletePDF(workspace.output + "/reports/" + name), "\(name)")
                }
                if round == 2 {
                    let check = try Self.sha256sumCheck(workspace)
                    #expect(check.status == 0, "\(check.output)")
                }
                // A short run that ends cleanly writes SHA256SUMS; the next kill must leave it true.
                let sample = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--limit", "10"], environment: sandbox.idscanCredentials)
                #expect(sample.status == 0, "\(sample.stderr)")
                #expect(try Self.sha256sumCheck(workspace).status == 0)
            }
            let last = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(last.status == 0, "\(last.stderr)")
            let check = try Self.sha256sumCheck(workspace)
            #expect(check.status == 0, "\(check.output)")
            let listed = try workspace.read("reports/SHA256SUMS").split(separator: "\n").map { String($0.split(separator: " ").last ?? "") }
            let present = Self.files(workspace, "reports").filter { $0.hasSuffix(".pdf") }
            #expect(listed.sorted() == present)
            #expect(present.count == 300)
            #expect(!Self.files(workspace, "reports").contains { $0.hasPrefix(".") })
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 300 && rows.allSatisfy { $0[3] == "ok" })
        }

        @Test func hostileIDsAreRejectedBeforeAnyRequestAndNothingIsWrittenOutside() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, idscan: "{ report: simple }")
            let long = String(repeating: "a", count: 101)
            let good = (Self.id("t", 1), Self.id("r", 1))
            try workspace.writeManifest(
                "transaction_id,result_id\n../x,\(good.1)\n\(good.0),a/b\n\(long),\(good.1)\n\(good.0),..\n.hidden,\(good.1)\n\(good.0),\"a?b#c\"\n\(good.0),\(good.1)\n"
            )
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let rejects = try workspace.csv("rejects.csv").dropFirst()
            #expect(rejects.map { $0[0] } == ["1", "2", "3", "4", "5", "6"])
            #expect(rejects.allSatisfy { $0.last?.contains("is not an ID Scan ID") == true })
            #expect(sandbox.stats.served == ["\(good.0)/\(good.1)/simple": 1])
            #expect(Self.files(workspace, "reports").filter { $0.hasSuffix(".pdf") } == ["\(good.0)_\(good.1)_simple.pdf"])
            let outside = try FileManager.default.contentsOfDirectory(atPath: workspace.folder).sorted()
            #expect(outside == ["job.yml", "manifest.csv", "out"])
        }

        @Test func anExpiredExtendedReportWithoutFallbackFailsItsRowAndSavesNothing() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, idscan: "{ report: extended, fallback_to_simple: false }")
            let pairs = (1...40).map { (Self.id("t", $0), Self.id("r", $0)) }
            let expired = pairs.filter { IDScanOracle.isExtendedReportExpired(transactionID: $0.0) }
            try #require(!expired.isEmpty)
            try workspace.writeManifest("transaction_id,result_id\n" + pairs.map { "\($0.0),\($0.1)\n" }.joined())
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(outcome.status == 3)
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.filter { $0[3] == "failed" }.count == expired.count)
            for row in rows where row[3] == "failed" {
                #expect(row[9].contains("no longer available") && row[9].contains("fallback_to_simple"))
                #expect(row[5].isEmpty)
            }
            #expect(Self.files(workspace, "reports").filter { $0.hasSuffix(".pdf") }.count == pairs.count - expired.count)
            #expect(try Self.sha256sumCheck(workspace).status == 0)
        }

        @Test(arguments: [SandboxConfiguration.ReportDamage.truncated, .html])
        func anIncompletePDFFailsItsRowAndIsNotSaved(damage: SandboxConfiguration.ReportDamage) async throws {
            let sandbox = try await RunningSandbox.start { $0.reportDamage = damage }
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, idscan: "{ report: simple }")
            try workspace.writeManifest(Self.manifest(3).text)
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.idscanCredentials)
            #expect(outcome.status == 3)
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 3 && rows.allSatisfy { $0[3] == "failed" && $0[9].contains("not a complete PDF") })
            #expect(Self.files(workspace, "reports").filter { $0.hasSuffix(".pdf") }.isEmpty)
        }

        @Test func aWrongSecretStopsTheRunWithSixtyNine() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, idscan: "{ report: simple }")
            try workspace.writeManifest(Self.manifest(5).text)
            var environment = sandbox.idscanCredentials
            environment["IDSCAN_SECRET"] = "not-the-secret-zq81"
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: environment)
            #expect(outcome.status == 69, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("credentials"))
            #expect(!outcome.stderr.contains("not-the-secret-zq81"))
            let summary = try workspace.summary()
            #expect(summary["pending"] as? Int == 5)
        }
    }
}
