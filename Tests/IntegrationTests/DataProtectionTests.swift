import Foundation
import Sandbox
import Testing
import TestSupport

extension EndToEnd {
    /// Every job kind at the most verbose log level, with distinctive secrets and personal values: no secret reaches
    /// a log line, an error message, an output or the state database; numbers reach logs only masked; every file is
    /// the owner's alone.
    @Suite(.timeLimit(.minutes(2)))
    struct DataProtectionTests {
        static let gatewaySecret = "GwSecret-7qZx93-Distinct"
        static let idscanSecret = "IdSecret-4kPw17-Distinct"

        /// The sandbox, configured with the distinctive secrets, and a little fault injection so error paths log too.
        func startSandbox() async throws -> RunningSandbox {
            try await RunningSandbox.start {
                $0.clientSecret = Self.gatewaySecret
                $0.idscanSecret = Self.idscanSecret
                $0.faultRate = 0.1
                $0.seed = 3
            }
        }

        /// Every byte the run left: its stderr and stdout, and every file under the workspace (outputs, state, WAL).
        func everything(_ workspace: Workspace, _ outcome: BatchRunnerProcess.Outcome) throws -> String {
            var text = outcome.stderr + outcome.stdout
            let enumerator = FileManager.default.enumerator(atPath: workspace.output)
            while let name = enumerator?.nextObject() as? String {
                if let data = FileManager.default.contents(atPath: workspace.output + "/" + name) {
                    text += String(decoding: data, as: UTF8.self)
                }
            }
            return text
        }

        /// Files and folders under the output that anyone but the owner could read.
        func looselyPermitted(_ workspace: Workspace) throws -> [String] {
            var loose: [String] = []
            let enumerator = FileManager.default.enumerator(atPath: workspace.output)
            while let name = enumerator?.nextObject() as? String {
                let attributes = try FileManager.default.attributesOfItem(atPath: workspace.output + "/" + name)
                let mode = (attributes[.posixPermissions] as? Int) ?? 0o777
                if mode & 0o077 != 0 { loose.append("\(name) \(String(mode, radix: 8))") }
            }
            return loose
        }

        func run(_ workspace: Workspace, environment: [String: String]) async throws -> BatchRunnerProcess.Outcome {
            try await BatchRunnerProcess.run(["run", workspace.jobFile, "--log-level", "trace"], environment: environment)
        }

        @Test func numberVerifyLogsNumbersOnlyMaskedAndNoSecret() async throws {
            let sandbox = try await startSandbox()
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: "number_verify: { scopes: [operator_lookup, device_match], poll_timeout: 1s, poll_interval: 200ms }\n")
            let numbers = (0..<40).map { String(format: "3161%07d", 4_242_000 + $0 * 7) } + ["31612404404"]
            try workspace.writeManifest("customer_id,msisdn\n" + numbers.enumerated().map { "C\($0.offset),+\($0.element)\n" }.joined() + "C99,06-12AB\n")
            let outcome = try await run(workspace, environment: sandbox.credentials)
            #expect(outcome.status == 0, "the 404 number is not_found, not a failure: \(outcome.stderr.suffix(500))")

            let logs = outcome.stderr
            #expect(logs.contains("trace"), "the most verbose level was on")
            for number in numbers {
                #expect(!logs.contains(number) && !logs.contains("0" + number.dropFirst(2)), "\(number) unmasked in the logs")
            }
            #expect(logs.contains(String(numbers[0].prefix(4)) + "****" + String(numbers[0].suffix(3))), "numbers appear masked")
            let all = try everything(workspace, outcome)
            #expect(!all.contains(Self.gatewaySecret))
            #expect(!logs.contains("Bearer"), "no token in the logs")
            let looseWorkspace = try looselyPermitted(workspace)
            #expect(looseWorkspace.isEmpty, "\(looseWorkspace)")
        }

        @Test func pimQRLogsNoCustomerDataAndNoSecret() async throws {
            let sandbox = try await startSandbox()
            let workspace = try Workspace()
            try """
                kind: pim-qr
                manifest: manifest.csv
                output: out
                columns: { key: customer_id }
                endpoints:
                  base: \(sandbox.origin)/kpn/qrcodegenerator
                  token: \(sandbox.origin)/oauth/client_credential/accesstoken?grant_type=client_credentials
                retry: { base_delay: 20ms, max_delay: 200ms }
                pim: { title: "Hello {first_name}", attributes: [Email] }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            try workspace.writeManifest("customer_id,first_name\n" + (1...30).map { "CUST-\($0)-8842,Zebulon\($0)Qx\n" }.joined())
            let outcome = try await run(workspace, environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(500))")
            #expect(!outcome.stderr.contains("Zebulon") && !outcome.stderr.contains("-8842"), "no customer data in the logs")
            #expect(!(try everything(workspace, outcome)).contains(Self.gatewaySecret))
            let looseWorkspace = try looselyPermitted(workspace)
            #expect(looseWorkspace.isEmpty, "\(looseWorkspace)")
        }

        /// A service that echoes the request back: the client secret it quotes never reaches the closing message,
        /// summary.json or a log line.
        @Test func anEchoedClientSecretIsScrubbedFromTheStopMessageAndSummary() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.clientSecret = Self.gatewaySecret
                $0.echo = .token
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 3))
            let outcome = try await run(workspace, environment: sandbox.credentials)
            #expect(outcome.status == 75, "\(outcome.stderr.suffix(800))")
            let closing = outcome.stderr.split(separator: "\n").last { $0.hasPrefix("batch-runner:") } ?? ""
            #expect(closing.contains("client_secret=[secret]"), "the echo reached the message, scrubbed: \(closing)")
            #expect((try workspace.summary()["stop_reason"] as? String)?.contains("client_secret=[secret]") == true)
            #expect(!(try everything(workspace, outcome)).contains(Self.gatewaySecret))
        }

        /// The same for the bearer token an API call quotes back in its error: rows, logs and outputs get `[secret]`.
        @Test func anEchoedTokenIsScrubbedFromRowsAndLogs() async throws {
            let sandbox = try await RunningSandbox.start {
                $0.clientSecret = Self.gatewaySecret
                $0.echo = .api
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 3))
            let outcome = try await run(workspace, environment: sandbox.credentials)
            #expect(outcome.status == 3, "\(outcome.stderr.suffix(800))")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 3 && rows.allSatisfy { $0[10].contains("you sent Authorization: Bearer [secret]") }, "\(rows.map { $0[10] })")
            let all = try everything(workspace, outcome)
            #expect(!all.contains(Self.gatewaySecret))
            #expect(all.components(separatedBy: "Bearer ").dropFirst().allSatisfy { $0.hasPrefix("[secret]") }, "no token after Bearer")
        }

        /// A crash leaves no core file to hold secrets: the core size limit is zero before anything is read.
        @Test func theRunnerNeverDumpsCore() async throws {
            let sandbox = BatchRunnerProcess(["sandbox", "--port", "0"])
            try sandbox.start()
            defer { sandbox.signal(SIGTERM) }
            // The sandbox prints its port once it listens, long after the settings made at start.
            try await waitUntil { !sandbox.stdoutSoFar.isEmpty }
            let limits = try String(contentsOfFile: "/proc/\(sandbox.process.processIdentifier)/limits", encoding: .utf8)
            let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
            #expect(core?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"], "\(core ?? "")")
            sandbox.signal(SIGTERM)
            _ = await sandbox.finish()
        }

        @Test func aRedirectToAnotherHostIsNotFollowedWithTheToken() async throws {
            let elsewhere = try await RunningSandbox.start()
            let sandbox = try await RunningSandbox.start { $0.redirectOrigin = elsewhere.origin }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin)
            try workspace.writeManifest(Manifests.numbers(count: 5))
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 3, "\(outcome.stderr)")
            #expect(elsewhere.stats.requests == 0, "nothing, and so no token, reached the other host")
            let rows = try workspace.csv("results.csv").dropFirst()
            #expect(rows.count == 5 && rows.allSatisfy { $0[3] == "failed" && $0[10].contains("HTTP 302") })
        }

        @Test func idscanKindsLogNoSecretAndKeepFilesPrivate() async throws {
            let sandbox = try await startSandbox()
            let environment = sandbox.idscanCredentials
            let reports = try Workspace()
            try """
                kind: idscan-reports
                manifest: manifest.csv
                output: out
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                retry: { base_delay: 20ms, max_delay: 200ms }
                idscan: { report: both, images: true, result_fields: [surname] }
                """.write(toFile: reports.jobFile, atomically: true, encoding: .utf8)
            try reports.writeManifest(IDScanReportsEndToEndTests.manifest(20).text)
            let exported = try await run(reports, environment: environment)
            #expect(exported.status == 0, "\(exported.stderr.suffix(500))")
            #expect(!(try everything(reports, exported)).contains(Self.idscanSecret))
            #expect(!exported.stderr.contains("eyJ"), "no JWT in the logs")
            let looseReports = try looselyPermitted(reports)
            #expect(looseReports.isEmpty, "\(looseReports)")

            let create = try Workspace()
            try """
                kind: idscan-create
                manifest: manifest.csv
                output: out
                columns: { key: customer_id }
                endpoints: { base: \(sandbox.origin)/id-scan/v1 }
                retry: { base_delay: 20ms, max_delay: 200ms }
                """.write(toFile: create.jobFile, atomically: true, encoding: .utf8)
            try create.writeManifest("customer_id\n" + (1...20).map { "CUST-\($0)-5531\n" }.joined())
            let created = try await run(create, environment: environment)
            #expect([0, 3].contains(created.status), "\(created.stderr.suffix(500))")
            #expect(!(try everything(create, created)).contains(Self.idscanSecret))
            #expect(!created.stderr.contains("-5531"))
            let looseCreate = try looselyPermitted(create)
            #expect(looseCreate.isEmpty, "\(looseCreate)")
        }

        /// Through a proxy with Basic authentication, over HTTPS, at the most verbose level: neither the proxy's
        /// password nor either authorization header (`Proxy-Authorization`, the bearer token) reaches a log line,
        /// a message, an output or the state database.
        @Test(.enabled(if: Tinyproxy.isInstalled, "tinyproxy is not installed (scripts/test.sh installs it)"))
        func theProxyPasswordAndBothAuthorizationHeadersStayOut() async throws {
            let proxyPassword = "PxSecret-3vRt88-Distinct"
            let proxy = try Tinyproxy(user: "ops", password: proxyPassword)
            defer { proxy.stop() }
            let certificates = try TestCertificates(folder: try Workspace().folder)
            let server = try certificates.server()
            let sandbox = try await RunningSandbox.start {
                $0.clientSecret = Self.gatewaySecret
                $0.tls = .init(certificatePath: server.certificatePath, keyPath: server.keyPath)
            }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.httpsOrigin, extra: "http:\n  ca_file: \(certificates.caPath)\n")
            try workspace.writeManifest(Manifests.numbers(count: 20))
            let outcome = try await run(workspace, environment: sandbox.credentials.merging(["https_proxy": proxy.url(user: "ops", password: proxyPassword)]) { $1 })
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(500))")
            #expect(!proxy.requestLines.isEmpty, "the run went through the proxy")
            let all = try everything(workspace, outcome)
            let basic = Data("ops:\(proxyPassword)".utf8).base64EncodedString()
            for secret in [proxyPassword, basic, "Proxy-Authorization", "Bearer ", Self.gatewaySecret] {
                #expect(!all.contains(secret), "\(secret) leaked")
            }
            #expect(outcome.stderr.contains("trace"), "the most verbose level was on")
        }
    }
}
