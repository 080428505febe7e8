import Foundation
import Testing
import TestSupport

@testable import Jobs

/// Proxy URLs, no_proxy lists, and how the job file and the environment combine into a run's network path.
@Suite struct NetworkSettingsTests {
    @Test func proxyURLsAreReadWithCredentialsPercentDecodedAndMasked() throws {
        let proxy = try ProxyServer.parse("http://ops%40corp:p%3Ass@proxy.corp:3128").get()
        #expect(proxy == ProxyServer(host: "proxy.corp", port: 3128, username: "ops@corp", password: "p:ss"))
        #expect(proxy.masked == "http://ops%40corp:***@proxy.corp:3128")
        #expect(try ProxyServer.parse("proxy.corp:8080").get() == ProxyServer(host: "proxy.corp", port: 8080))
        #expect(try ProxyServer.parse("http://proxy.corp").get().port == 1080)
        #expect(try ProxyServer.parse("http://[::1]:3128/").get() == ProxyServer(host: "::1", port: 3128))
        #expect(try ProxyServer.parse("http://[::1]:3128").get().masked == "http://[::1]:3128")
        #expect("\(proxy)" == proxy.masked && String(reflecting: proxy) == proxy.masked, "interpolation never shows the password")
    }

    @Test func malformedProxyURLsAreRefusedWithoutEchoingThePassword() {
        for text in [
            "https://user:hunter2@proxy:443", "socks5://proxy:1080", "http://user:hunter2@proxy:99999", "http://user:hunter2@/x",
            "http://:3128", "ftp://proxy", "http://user:hunter2", "http://::1:3128",
        ] {
            guard case .failure(let problem) = ProxyServer.parse(text) else {
                Issue.record("\(text) was accepted")
                continue
            }
            #expect(!problem.description.contains("hunter2"), "\(problem.description)")
        }
    }

    @Test func noProxyMatchesHostsTheirSubdomainsAddressesAndPorts() {
        let list = NoProxyList(environmentValue: "localhost, .internal.example,example.com:8443,10.0.0.7,[::1],[::2]:abc,bad.example:x")
        #expect(list.bypasses(host: "localhost", port: 443))
        #expect(list.bypasses(host: "LOCALHOST.", port: 443))
        #expect(list.bypasses(host: "internal.example", port: 443))
        #expect(list.bypasses(host: "api.internal.example", port: 443))
        #expect(!list.bypasses(host: "notinternal.example", port: 443))
        #expect(list.bypasses(host: "example.com", port: 8443))
        #expect(list.bypasses(host: "api.example.com", port: 8443))
        #expect(!list.bypasses(host: "example.com", port: 443))
        #expect(list.bypasses(host: "10.0.0.7", port: 443))
        #expect(!list.bypasses(host: "110.0.0.7", port: 443))
        #expect(list.bypasses(host: "::1", port: 80))
        #expect(list.bypasses(host: "[::1]", port: 80))
        #expect(!list.bypasses(host: "127.0.0.1", port: 80), "no implicit loopback bypass")
        #expect(!list.bypasses(host: "::2", port: 80) && !list.bypasses(host: "bad.example", port: 443), "an entry with an unreadable port is skipped")
        #expect(NoProxyList(["*"]).bypasses(host: "api-prd.kpn.com", port: 443))
        #expect(!NoProxyList([]).bypasses(host: "localhost", port: 443))
    }

    @Test func theEnvironmentFillsInWhatTheJobFileLeavesOut() throws {
        let environment = [
            "HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128", "HTTP_PROXY": "http://httpoxy:80",
            "NO_PROXY": "upper.example", "no_proxy": "lower.example",
        ]
        let settings = try NetworkSettings.resolve(JobConfiguration.HTTP(), environment: environment)
        #expect(settings.httpsProxy == .init(server: ProxyServer(host: "lower", port: 3128), origin: "https_proxy"))
        #expect(settings.proxy(for: URLComponents(string: "https://lower.example/x")!) == nil)
        #expect(settings.proxy(for: URLComponents(string: "https://api-prd.kpn.com/x")!)?.origin == "https_proxy")
        #expect(settings.proxy(for: URLComponents(string: "http://127.0.0.1:8080/x")!) == nil)

        let upper = try NetworkSettings.resolve(JobConfiguration.HTTP(), environment: ["HTTPS_PROXY": "http://upper:3128", "http_proxy": "http://plain:80"])
        #expect(upper.httpsProxy?.server.host == "upper")
        #expect(upper.proxy(for: URLComponents(string: "https://127.0.0.1:8443/x")!)?.server.host == "upper", "no implicit bypass for loopback")
        #expect(upper.proxy(for: URLComponents(string: "http://127.0.0.1:8080/x")!) == nil, "http_proxy is ignored: an http endpoint never goes through a proxy")
    }

    @Test func theJobFileWinsAndNoneIgnoresTheEnvironment() throws {
        var http = JobConfiguration.HTTP()
        http.proxy = .server(ProxyServer(host: "job", port: 8080))
        http.noProxy = ["kpn.com"]
        let environment = ["https_proxy": "http://env:3128", "no_proxy": "*"]
        let settings = try NetworkSettings.resolve(http, environment: environment)
        #expect(settings.proxy(for: URLComponents(string: "https://api.cm.com/id-scan/v1")!)?.server.host == "job")
        #expect(settings.proxy(for: URLComponents(string: "http://127.0.0.1:1/x")!) == nil, "never a proxy for an http endpoint")
        #expect(settings.proxy(for: URLComponents(string: "https://api-prd.kpn.com/x")!) == nil)

        http.proxy = JobConfiguration.ProxySetting.none
        let direct = try NetworkSettings.resolve(http, environment: environment)
        #expect(direct.httpsProxy == nil)
    }

    @Test func aMalformedProxyVariableNamesTheVariableNotItsValue() {
        #expect {
            try NetworkSettings.resolve(JobConfiguration.HTTP(), environment: ["https_proxy": "socks5://user:hunter2@proxy:1080"])
        } throws: { error in
            let message = (error as? JobFileError)?.message ?? ""
            return message.contains("https_proxy") && !message.contains("hunter2") && ExitTable.jobError(for: error).code.exitCode == 78
        }
    }

    @Test func caFilesMustHoldPEMCertificates() throws {
        let folder = try TemporaryFiles.folder()
        let certificates = try TestCertificates(folder: folder)
        var http = JobConfiguration.HTTP()
        http.caFile = certificates.caPath
        let trusted = try NetworkSettings.resolve(http, environment: ["SSL_CERT_DIR": folder + ":" + folder])
        #expect(trusted.trust.sources.map(\.origin) == ["http.ca_file", "SSL_CERT_DIR", "SSL_CERT_DIR"], "a colon-separated list, as OpenSSL")
        #expect(trusted.trust.sources.allSatisfy { $0.certificates.count == 1 })

        let notPEM = folder + "/not-a-certificate.pem"
        try "hello".write(toFile: notPEM, atomically: true, encoding: .utf8)
        for (caFile, environment, named) in [
            (notPEM, [String: String](), "http.ca_file"), (folder + "/missing.pem", [:], "http.ca_file"),
            (nil, ["SSL_CERT_FILE": notPEM], "SSL_CERT_FILE"), (nil, ["SSL_CERT_DIR": folder + "/nowhere"], "SSL_CERT_DIR"),
        ] {
            http.caFile = caFile
            #expect(throws: JobFileError.self) { try NetworkSettings.resolve(http, environment: environment) }
            do {
                _ = try NetworkSettings.resolve(http, environment: environment)
            } catch {
                #expect(error.message.contains(named), "\(error.message)")
                #expect(ExitTable.jobError(for: error).code.exitCode == 78)
            }
        }
    }

    @Test func theJobFileReadsTheNetworkKeys() throws {
        let folder = try TemporaryFiles.folder()
        let job = try JobFile.parse(
            """
            kind: number-verify
            manifest: m.csv
            http:
              timeout: 10s
              ca_file: certs/ca.pem
              proxy: http://ops:secret@proxy.corp:3128
              no_proxy: [localhost, .internal.example]
            """, path: folder + "/job.yml")
        #expect(job.http.caFile == folder + "/certs/ca.pem")
        #expect(job.http.proxy == .server(ProxyServer(host: "proxy.corp", port: 3128, username: "ops", password: "secret")))
        #expect(job.http.noProxy == ["localhost", ".internal.example"])
        let none = try JobFile.parse("kind: number-verify\nmanifest: m.csv\nhttp: { proxy: none }\n", path: folder + "/job.yml")
        #expect(none.http.proxy == JobConfiguration.ProxySetting.none)
        #expect {
            try JobFile.parse("kind: number-verify\nmanifest: m.csv\nhttp: { proxy: 'socks5://ops:secret@p:1' }\n", path: folder + "/job.yml")
        } throws: { error in
            let message = (error as? JobFileError)?.message ?? ""
            return message.contains("http.proxy") && message.contains("line 3") && !message.contains("secret")
        }
    }
}
