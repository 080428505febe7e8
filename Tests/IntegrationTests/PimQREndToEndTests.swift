import Crypto
import Foundation
import Sandbox
import Testing

extension EndToEnd {
    /// pim-qr through the real binary against an in-process sandbox.
    @Suite(.timeLimit(.minutes(2)))
    struct PimQREndToEndTests {
        func writeJob(_ workspace: Workspace, origin: String, concurrency: Int = 8, title: String = "Confirm your details, {first_name}") throws {
            try """
                kind: pim-qr
                manifest: manifest.csv
                output: out
                columns: { key: customer_id }
                concurrency: \(concurrency)
                endpoints:
                  base: \(origin)/kpn/qrcodegenerator
                  token: \(origin)/oauth/client_credential/accesstoken?grant_type=client_credentials
                pim: { redirect: 1, title: "\(title)", attributes: [Email, Mobile, FirstName], width: 400, height: 400 }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
        }

        /// `count` customers; every 50th has an unknown attribute, every 97th an empty key, every 101st repeats a key.
        func customers(_ count: Int) -> String {
            var lines = ["customer_id,first_name,attributes"]
            for row in 1...count {
                let key = row % 97 == 0 ? "" : row % 101 == 0 ? "K\(row - 1)" : "K\(row)"
                let attributes = row % 50 == 0 ? "Shoesize" : ""
                lines.append("\(key),Name\(row),\(attributes)")
            }
            return lines.joined(separator: "\n") + "\n"
        }

        func svgFiles(_ workspace: Workspace) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: workspace.output + "/qr").sorted()
        }

        @Test(arguments: [SandboxConfiguration.ImageFraming.bareBase64, .jsonString, .jsonObject])
        func aThousandCustomersBecomeVerifiedSVGFiles(framing: SandboxConfiguration.ImageFraming) async throws {
            let sandbox = try await RunningSandbox.start { $0.imageFraming = framing }
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin)
            try workspace.writeManifest(customers(1_000))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")

            let results = try workspace.csv("results.csv")
            #expect(results.first == ["row", "key", "status", "file", "sha256", "bytes", "attempts", "error"])
            let rejects = try workspace.csv("rejects.csv").dropFirst()
            let rows = results.dropFirst()
            #expect(rows.count + rejects.count == 1_000)
            // 20 unknown attributes, 10 empty keys, 8 repeated keys (row 101 repeats row 100's, which was rejected).
            let expectedRejects = 38
            #expect(rejects.count == expectedRejects)
            for row in rows {
                #expect(row[2] == "ok")
                let data = try Data(contentsOf: URL(fileURLWithPath: workspace.output + "/" + row[3]))
                #expect(String(decoding: data, as: UTF8.self).contains("<svg"))
                #expect(SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() == row[4])
                #expect(String(data.count) == row[5])
            }
            #expect(try svgFiles(workspace).count == rows.count)
            #expect(rejects.contains { $0.last?.contains("already uses") == true })
        }

        @Test func aKillAndResumeLeavesNoPartialSVG() async throws {
            let sandbox = try await RunningSandbox.start { $0.latency = .milliseconds(10) }
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, concurrency: 4)
            try workspace.writeManifest(customers(600))
            let first = BatchRunnerProcess(["run", workspace.jobFile], environment: sandbox.credentials)
            try first.start()
            try await waitUntil { sandbox.stats.requests >= 150 }
            first.signal(SIGKILL)
            _ = await first.finish()

            let second = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(second.status == 0, "\(second.stderr)")
            let rows = try workspace.csv("results.csv").dropFirst()
            let files = try svgFiles(workspace)
            #expect(files.allSatisfy { $0.hasSuffix(".svg") && !$0.hasPrefix(".") })
            #expect(files.count == rows.count)
            for row in rows {
                let data = try Data(contentsOf: URL(fileURLWithPath: workspace.output + "/" + row[3]))
                #expect(String(decoding: data, as: UTF8.self).hasSuffix("</svg>"))
            }
        }

        @Test func hostileKeysNeverWriteOutsideTheOutputFolder() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin)
            let long = String(repeating: "x", count: 300)
            try workspace.writeManifest("customer_id,first_name\n../../escape,A\n/etc/passwd,B\n..,C\na/b,D\na_b,E\n\(long),F\n\"new\nline\",G\n")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let files = try svgFiles(workspace)
            let longName = String(repeating: "x", count: 100) + ".svg"
            let expected: [String] = ["____escape.svg", "_etc_passwd.svg", "a_b.svg", "new_line.svg", longName]
            #expect(files == expected.sorted())
            #expect(!FileManager.default.fileExists(atPath: workspace.folder + "/escape.svg"))
            let rejects = try workspace.read("rejects.csv")
            #expect(rejects.contains("a_b"))  // row 5 collides with row 4 after making it safe
            #expect(rejects.contains("no letter or digit"))  // `..`
        }

        @Test func anAnswerThatIsNotAnSVGFailsItsRowWithAClearError() async throws {
            let sandbox = try await RunningSandbox.start { $0.imageFraming = .notSVG }
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin)
            try workspace.writeManifest(customers(3))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 3)
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 3)
            #expect(rows.allSatisfy { $0[2] == "failed" })
            #expect(try workspace.read("results.csv").components(separatedBy: "does not decode to an SVG document").count == 4)
            #expect(!FileManager.default.fileExists(atPath: workspace.output + "/qr"))
        }

        @Test func anUnknownTemplateColumnIsAJobFileError() async throws {
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try writeJob(workspace, origin: sandbox.origin, title: "Hi {nickname}")
            try workspace.writeManifest(customers(5))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 78)
            #expect(outcome.stderr.contains("{nickname}"))
            #expect(sandbox.stats.requests == 0)
        }
    }
}
