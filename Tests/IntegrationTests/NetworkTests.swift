import Foundation
import Sandbox
import Testing
import TestSupport

extension EndToEnd {
    /// The networks users have: HTTPS with a private CA, certificates that must be refused, an HTTP proxy with
    /// Basic authentication (Debian's tinyproxy, started per test), no_proxy, and a service that cannot be reached.
    /// Certificates are made at test time; nothing here reaches beyond loopback.
    @Suite(.timeLimit(.minutes(3)))
    struct NetworkTests {
        static let proxyUser = "ops"
        static let proxyPassword = "Pr0xy-Secret-9xQ"
        static let rows = 40

        /// A sandbox serving HTTPS with `server`'s certificate.
        func tlsSandbox(_ server: TestCertificates.Server) async throws -> RunningSandbox {
            try await RunningSandbox.start { $0.tls = .init(certificatePath: server.certificatePath, keyPath: server.keyPath) }
        }

        /// A workspace with a number-verify job on `origin` and `rows` numbers.
        /// A workspace with a number-verify job on `origin` and `rows` numbers; `http` adds lines under `http:`.
        func workspace(origin: String, http: String, concurrency: Int = 8, rows: Int = Self.rows, timeout: String = "4s") throws -> Workspace {
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: origin, concurrency: concurrency, extra: "http:\n  timeout: \(timeout)\n" + http)
            try workspace.writeManifest(Manifests.numbers(count: rows))
            return workspace
        }

        func run(_ workspace: Workspace, _ sandbox: RunningSandbox, environment: [String: String] = [:], extra: [String] = []) async throws -> BatchRunnerProcess.Outcome {
            try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"] + extra, environment: sandbox.credentials.merging(environment) { $1 })
        }

        // MARK: TLS

        @Test func httpsWithThePrivateCAInCAFileReusesConnections() async throws {
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let sandbox = try await tlsSandbox(try certificates.server())
            let workspace = try workspace(origin: sandbox.httpsOrigin, http: "  ca_file: \(certificates.caPath)\n", rows: 200)
            let outcome = try await run(workspace, sandbox)
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(800))")
            let summary = try workspace.summary()
            #expect(summary["succeeded"] as? Int == 200)
            // One TLS handshake per connection: at most one per row in flight (AsyncHTTPClient keeps 8 per host),
            // the token request included, not one per request.
            #expect(sandbox.stats.connections >= 1 && sandbox.stats.connections <= 9, "\(sandbox.stats.connections) handshakes")
            #expect(sandbox.stats.requests == 201)
        }

        @Test func httpsWithThePrivateCAInSSLCertFile() async throws {
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let sandbox = try await tlsSandbox(try certificates.server())
            let workspace = try workspace(origin: sandbox.httpsOrigin, http: "")
            let outcome = try await run(workspace, sandbox, environment: ["SSL_CERT_FILE": certificates.caPath])
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(800))")
            #expect(try workspace.summary()["succeeded"] as? Int == Self.rows)
        }

        /// Not trusted, expired, for another name: 69 within seconds, one message with the host, the reason and the
        /// fix, nothing sent, every row pending; with the CA configured, the same state resumes and finishes.
        @Test(arguments: ["unknown issuer", "expired", "name mismatch"])
        func refusedCertificatesStopWith69AndEveryRowStaysPending(reason: String) async throws {
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let now = Date()
            let server = switch reason {
            case "expired": try certificates.server(validity: (now - 2 * 86_400)...(now - 86_400))
            case "name mismatch": try certificates.server(named: ["other.example"])
            default: try certificates.server()
            }
            let sandbox = try await tlsSandbox(server)
            let trust = reason == "unknown issuer" ? "" : "  ca_file: \(certificates.caPath)\n"
            // The default http.timeout (30 s): one refused handshake stops the run, no retries until a deadline.
            let workspace = try workspace(origin: sandbox.httpsOrigin, http: trust, timeout: "30s")
            let outcome = try await run(workspace, sandbox)
            #expect(outcome.status == 69, "\(outcome.stderr.suffix(800))")
            #expect(sandbox.stats.connections <= 2 * 8 + 2, "\(sandbox.stats.connections) handshakes: no retry storm")
            #expect(outcome.stderr.contains("localhost:\(sandbox.port)"), "\(outcome.stderr.suffix(800))")
            #expect(outcome.stderr.contains("(\(reason))"), "\(outcome.stderr.suffix(800))")
            #expect(outcome.stderr.contains(reason == "unknown issuer" ? "http.ca_file" : reason == "expired" ? "clock" : "endpoint URL"))
            let summary = try workspace.summary()
            #expect(summary["pending"] as? Int == Self.rows)
            #expect(summary["failed"] as? Int == 0)
            #expect(summary["exit_code"] as? Int == 69)
            #expect(sandbox.stats.requests == 0, "no request reached the service")

            guard reason == "unknown issuer" else { return }
            try workspace.writeNumberVerifyJob(origin: sandbox.httpsOrigin, extra: "http:\n  ca_file: \(certificates.caPath)\n")
            let resumed = try await run(workspace, sandbox)
            #expect(resumed.status == 0, "\(resumed.stderr.suffix(800))")
            #expect(try workspace.summary()["succeeded"] as? Int == Self.rows)
        }

        @Test func aCAFileThatIsNotAPEMCertificateEndsWith78() async throws {
            let workspace = try workspace(origin: "https://localhost:1", http: "  ca_file: job.yml\n")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: ["KPN_CLIENT_ID": "a", "KPN_CLIENT_SECRET": "b"])
            #expect(outcome.status == 78)
            #expect(outcome.stderr.contains("http.ca_file") && outcome.stderr.contains(workspace.jobFile), "\(outcome.stderr)")
        }

        /// The embedded sandbox is in the process: the machine's proxy and CA settings, even broken ones, do not
        /// apply to a `--sandbox` demo.
        @Test func aSandboxRunIgnoresTheNetworkSettings() async throws {
            let workspace = try workspace(origin: "https://api.invalid", http: "  ca_file: missing.pem\n")
            let outcome = try await BatchRunnerProcess.run(
                ["run", workspace.jobFile, "--sandbox", "--no-progress"],
                environment: ["https_proxy": "socks5://ops:secret@proxy:1080", "http_proxy": "http://127.0.0.1:1"]
            )
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(800))")
            #expect(try workspace.summary()["succeeded"] as? Int == Self.rows)
        }

        // MARK: Unreachable

        @Test func aServiceUnreachableFromTheFirstRequestEndsWith69() async throws {
            let port = try FreePort.pick()
            let workspace = try workspace(origin: "http://127.0.0.1:\(port)", http: "")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--no-progress"], environment: ["KPN_CLIENT_ID": "a", "KPN_CLIENT_SECRET": "b"])
            #expect(outcome.status == 69, "\(outcome.stderr.suffix(800))")
            #expect(outcome.stderr.contains("127.0.0.1:\(port)") && outcome.stderr.contains("connection refused"), "\(outcome.stderr.suffix(800))")
            #expect(try workspace.summary()["pending"] as? Int == Self.rows)
        }

        // MARK: Proxy

        @Test(.enabled(if: Tinyproxy.isInstalled, "tinyproxy is not installed (scripts/test.sh installs it)"))
        func everyHTTPSRequestGoesThroughTheProxyWithBasicAuthentication() async throws {
            let proxy = try Tinyproxy(user: Self.proxyUser, password: Self.proxyPassword)
            defer { proxy.stop() }
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let sandbox = try await tlsSandbox(try certificates.server())
            let workspace = try workspace(
                origin: sandbox.httpsOrigin,
                http: "  ca_file: \(certificates.caPath)\n  proxy: \(proxy.url(user: Self.proxyUser, password: Self.proxyPassword))\n"
            )
            let outcome = try await run(workspace, sandbox, extra: ["--log-level", "trace"])
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(800))")
            #expect(try workspace.summary()["succeeded"] as? Int == Self.rows)
            let tunnels = proxy.requestLines
            #expect(!tunnels.isEmpty)
            #expect(tunnels.allSatisfy { $0.hasPrefix("CONNECT localhost:\(sandbox.port) ") }, "\(tunnels)")
            // Every connection the service accepted came through a tunnel the proxy opened (and authorised).
            #expect(tunnels.count == sandbox.stats.connections, "\(tunnels.count) tunnels, \(sandbox.stats.connections) connections")
            #expect(!outcome.stderr.contains(Self.proxyPassword))
        }

        @Test(.enabled(if: Tinyproxy.isInstalled, "tinyproxy is not installed (scripts/test.sh installs it)"))
        func aWrongProxyPasswordEndsWith69NamingTheProxyMasked() async throws {
            let proxy = try Tinyproxy(user: Self.proxyUser, password: Self.proxyPassword)
            defer { proxy.stop() }
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let sandbox = try await tlsSandbox(try certificates.server())
            let wrong = "Wr0ng-Password-77"
            let workspace = try workspace(origin: sandbox.httpsOrigin, http: "  ca_file: \(certificates.caPath)\n")
            let outcome = try await run(workspace, sandbox, environment: ["https_proxy": proxy.url(user: Self.proxyUser, password: wrong)])
            #expect(outcome.status == 69, "\(outcome.stderr.suffix(800))")
            #expect(outcome.stderr.contains("http://ops:***@127.0.0.1:\(proxy.port)"), "\(outcome.stderr.suffix(800))")
            #expect(outcome.stderr.contains("user and password"), "\(outcome.stderr.suffix(800))")
            #expect(!outcome.stderr.contains(wrong))
            #expect(!(try workspace.read("summary.json")).contains(wrong))
            #expect(try workspace.summary()["pending"] as? Int == Self.rows)
            #expect(sandbox.stats.requests == 0)
        }

        @Test(.enabled(if: Tinyproxy.isInstalled, "tinyproxy is not installed (scripts/test.sh installs it)"))
        func hostsInNoProxyBypassTheProxy() async throws {
            let proxy = try Tinyproxy()
            defer { proxy.stop() }
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let sandbox = try await tlsSandbox(try certificates.server())
            let workspace = try workspace(origin: sandbox.httpsOrigin, http: "  ca_file: \(certificates.caPath)\n  no_proxy: [.example.org, localhost]\n")
            let outcome = try await run(workspace, sandbox, environment: ["HTTPS_PROXY": proxy.url(), "no_proxy": "nothing.example"])
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(800))")
            #expect(proxy.requestLines.isEmpty, "\(proxy.requestLines)")
            #expect(sandbox.stats.requests == Self.rows + 1)
        }

        /// An http endpoint (loopback only) never goes through a proxy: through one, the token request's body,
        /// client secret included, would travel in clear to the proxy's host. A proxy listening on another
        /// loopback port, named by http_proxy and HTTP_PROXY, receives nothing.
        @Test(.enabled(if: Tinyproxy.isInstalled, "tinyproxy is not installed (scripts/test.sh installs it)"))
        func httpEndpointsNeverGoThroughAProxy() async throws {
            let proxy = try Tinyproxy(user: Self.proxyUser, password: Self.proxyPassword)
            defer { proxy.stop() }
            let sandbox = try await RunningSandbox.start()
            let workspace = try workspace(origin: sandbox.origin, http: "")
            let url = proxy.url(user: Self.proxyUser, password: Self.proxyPassword)
            let outcome = try await run(workspace, sandbox, environment: ["http_proxy": url, "HTTP_PROXY": url, "https_proxy": url])
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(800))")
            #expect(proxy.requestLines.isEmpty, "the proxy received \(proxy.requestLines.count) requests: \(proxy.requestLines.prefix(2))")
            #expect(sandbox.stats.requests == Self.rows + 1, "every request went straight to the endpoint")
        }

        /// `http.proxy` in a job whose endpoint is http:// is a contradiction: refused (78) before any request.
        @Test func aJobFileProxyForAnHTTPEndpointIsRefused() async throws {
            let sandbox = try await RunningSandbox.start()
            let port = try FreePort.pick()
            let workspace = try workspace(origin: sandbox.origin, http: "  proxy: http://ops:\(Self.proxyPassword)@127.0.0.1:\(port)\n")
            for command in [["run", workspace.jobFile, "--no-progress"], ["validate", workspace.jobFile]] {
                let outcome = try await BatchRunnerProcess.run(command, environment: sandbox.credentials)
                #expect(outcome.status == 78, "\(command[0]): \(outcome.stdout)\(outcome.stderr)")
                #expect(outcome.stderr.contains("`http.proxy` is set, but the endpoint http://127.0.0.1:\(sandbox.port) uses http://"), "\(outcome.stderr)")
                #expect(!outcome.stdout.contains(Self.proxyPassword) && !outcome.stderr.contains(Self.proxyPassword))
            }
            #expect(sandbox.stats.requests == 0)
        }

        // MARK: validate --connect

        @Test func validateConnectShowsTheRouteTheCertificateAndTheToken() async throws {
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder, caName: "Corp Inspection CA")
            let sandbox = try await tlsSandbox(try certificates.server())
            let workspace = try workspace(origin: sandbox.httpsOrigin, http: "  ca_file: \(certificates.caPath)\n")
            let outcome = try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--connect"], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stdout.contains("api endpoint localhost:\(sandbox.port): direct"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("certificate: CN=localhost, issued by CN=Corp Inspection CA"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("token: ok (HTTP 200)"), "\(outcome.stdout)")
            #expect(sandbox.stats.count(.ok) == 0, "no quota-counted request")

            let json = try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--connect", "--json"], environment: sandbox.credentials)
            #expect(json.status == 0)
            let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let connect = report?["connect"] as? [String: Any]
            #expect(connect?["ok"] as? Bool == true)
            let endpoints = connect?["endpoints"] as? [[String: Any]] ?? []
            #expect(endpoints.map { $0["role"] as? String } == ["api", "token"])
            #expect(endpoints.last?["token"] as? String == "ok")
            #expect((endpoints.first?["certificate_issuer"] as? String)?.contains("Corp Inspection CA") == true)
        }

        @Test func validateConnectEndsWith69WhenTheSecretIsWrongOrTheCertificateUntrusted() async throws {
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let sandbox = try await tlsSandbox(try certificates.server())
            let trusted = try workspace(origin: sandbox.httpsOrigin, http: "  ca_file: \(certificates.caPath)\n")
            var credentials = sandbox.credentials
            credentials["KPN_CLIENT_SECRET"] = "not-the-secret"
            let refused = try await BatchRunnerProcess.run(["validate", trusted.jobFile, "--connect"], environment: credentials)
            #expect(refused.status == 69, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stdout.contains("FAILED") && refused.stdout.contains("refused the credentials"), "\(refused.stdout)")
            #expect(!refused.stdout.contains("not-the-secret"))

            let untrusted = try workspace(origin: sandbox.httpsOrigin, http: "")
            let outcome = try await BatchRunnerProcess.run(["validate", untrusted.jobFile, "--connect"], environment: sandbox.credentials)
            #expect(outcome.status == 69, "\(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stdout.contains("(unknown issuer)"), "\(outcome.stdout)")
        }

        @Test func validateConnectEndsWith69WhenTheProxyCannotBeReached() async throws {
            let folder = try Workspace().folder
            let certificates = try TestCertificates(folder: folder)
            let sandbox = try await tlsSandbox(try certificates.server())
            let port = try FreePort.pick()
            let workspace = try workspace(origin: sandbox.httpsOrigin, http: "  ca_file: \(certificates.caPath)\n  proxy: http://ops:\(Self.proxyPassword)@127.0.0.1:\(port)\n")
            let outcome = try await BatchRunnerProcess.run(["validate", workspace.jobFile, "--connect"], environment: sandbox.credentials)
            #expect(outcome.status == 69, "\(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stdout.contains("via proxy http://ops:***@127.0.0.1:\(port) (from http.proxy)"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("cannot be reached"), "\(outcome.stdout)")
            #expect(!outcome.stdout.contains(Self.proxyPassword) && !outcome.stderr.contains(Self.proxyPassword))
        }
    }
}
