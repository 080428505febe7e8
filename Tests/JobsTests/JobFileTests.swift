import Foundation
import RateLimiter
import Testing

@testable import Jobs

@Suite struct JobFileTests {
    let path = "/jobs/campaign/job.yml"

    func parse(_ text: String) throws(JobFileError) -> JobConfiguration {
        try JobFile.parse(text, path: path)
    }

    func expectError(_ text: String, containing fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        expectJobFileError(text, path: path, containing: fragments, sourceLocation: sourceLocation)
    }

    @Test func readsTheIssueExampleWithItsDefaults() throws {
        let job = try parse(
            """
            kind: number-verify
            manifest: ../samples/msisdns.csv
            output: ../out/number-verify
            columns: { msisdn: msisdn, key: customer_id }
            concurrency: 8
            endpoints:
              base: https://api-prd.kpn.com/communication/kpn/numberverify
              token: https://api-prd.kpn.com/communication/kpn/numberverify/token
            credentials: { client_id_env: KPN_CLIENT_ID, client_secret_env: KPN_CLIENT_SECRET }
            quota: { on_exhausted: wait, max_wait: 15m }
            number_verify: { scopes: [operator_lookup], poll_timeout: 30s, poll_interval: 2s }
            """
        )
        #expect(job.kind == .numberVerify)
        #expect(job.manifest == "/jobs/samples/msisdns.csv")
        #expect(job.output == "/jobs/out/number-verify")
        #expect(job.statePath == "/jobs/out/number-verify/state.sqlite")
        #expect(job.column("msisdn") == "msisdn")
        #expect(job.column("key") == "customer_id")
        #expect(job.concurrency == 8)
        #expect(job.quota.onExhausted == .wait)
        #expect(job.numberVerify.pollTimeout == .seconds(30))
        #expect(job.numberVerify.pollsDeviceMatch == false)
        #expect(job.credentials.clientIDVariable == "KPN_CLIENT_ID")
    }

    @Test func appliesDefaultsForAMinimalFile() throws {
        let job = try parse("kind: number-verify\nmanifest: numbers.csv\n")
        #expect(job.manifest == "/jobs/campaign/numbers.csv")
        #expect(job.output == "/jobs/campaign/out/job")
        #expect(job.concurrency == 8)
        #expect(job.endpoints.base == "https://api-prd.kpn.com/communication/kpn/numberverify")
        #expect(job.retry.maxAttempts == 6)
        #expect(job.http.timeout == .seconds(30))
        #expect(job.csvFormulas == .escape)
    }

    @Test func csvFormulasIsEscapeOrKeep() throws {
        #expect(try parse("kind: number-verify\nmanifest: m.csv\ncsv_formulas: keep\n").csvFormulas == .keep)
        #expect(try parse("kind: number-verify\nmanifest: m.csv\ncsv_formulas: escape\n").csvFormulas == .escape)
        expectError("kind: number-verify\nmanifest: m.csv\ncsv_formulas: strip\n", containing: ["`csv_formulas`", "escape", "keep"])
    }

    @Test func readsStopPolicyLimitsAndExplicitState() throws {
        let job = try parse(
            """
            kind: number-verify
            manifest: m.csv
            state: /var/lib/batch/state.db
            quota: { on_exhausted: stop, max_wait: 90s, smooth: true, share: 0.8 }
            limits: { max_per_second: 2.5 }
            retry: { max_attempts: 3 }
            number_verify: { scopes: "operator_lookup,device_match" }
            delimiter: semicolon
            """
        )
        #expect(job.statePath == "/var/lib/batch/state.db")
        #expect(job.quota.onExhausted == .stop(maxWait: .seconds(90)))
        #expect(job.quota.smooth)
        #expect(job.quota.share == 0.8)
        #expect(try parse("kind: number-verify\nmanifest: m.csv\n").quota.share == 1, "the whole quota by default")
        expectError("kind: number-verify\nmanifest: m.csv\nquota: { share: 1.5 }\n", containing: ["`quota.share`", "at most 1"])
        expectError("kind: number-verify\nmanifest: m.csv\nquota: { share: 0 }\n", containing: ["`quota.share`", "above 0"])
        #expect(job.quota.maxPerSecond == 2.5)
        #expect(job.retry.maxAttempts == 3)
        #expect(job.numberVerify.pollsDeviceMatch)
        #expect(job.delimiter == UInt8(ascii: ";"))
    }

    @Test func anUnknownKeyIsNamedWithItsLine() {
        expectError("kind: number-verify\nmanifest: m.csv\nconcurency: 4\n", containing: ["`concurency`", "line 3"])
        expectError("kind: number-verify\nmanifest: m.csv\nquota: { on_exhausted: wait, maxwait: 1m }\n", containing: ["`quota.maxwait`"])
    }

    @Test func missingOrWrongValuesAreNamed() {
        expectError("manifest: m.csv\n", containing: ["`kind`"])
        expectError("kind: number-verify\n", containing: ["`manifest`"])
        expectError("kind: fax\nmanifest: m.csv\n", containing: ["`fax`", "number-verify"])
        expectError("kind: number-verify\nmanifest: m.csv\nconcurrency: 0\n", containing: ["`concurrency`", "1 to 256"])
        expectError("kind: number-verify\nmanifest: m.csv\nconcurrency: lots\n", containing: ["`concurrency`"])
        expectError("kind: number-verify\nmanifest: m.csv\nquota: { max_wait: soon }\n", containing: ["`quota.max_wait`", "duration"])
        expectError("kind: number-verify\nmanifest: m.csv\nquota: { on_exhausted: panic }\n", containing: ["wait or stop"])
        expectError("kind: number-verify\nmanifest: m.csv\nnumber_verify: { scopes: [device_match] }\n", containing: ["operator_lookup"])
        expectError("kind: number-verify\nmanifest: m.csv\nnumber_verify: { scopes: [operator_lookup, device_match_notify] }\n", containing: ["device_match_notify"])
        expectError("kind: number-verify\nmanifest: [a, b\n", containing: ["YAML"])
        expectError("- just\n- a list\n", containing: ["mapping"])
    }

    @Test func httpIsOnlyForLoopback() throws {
        expectError("kind: number-verify\nmanifest: m.csv\nendpoints: { base: http://api.example.com/nv }\n", containing: ["https://"])
        expectError("kind: number-verify\nmanifest: m.csv\nendpoints: { base: ftp://127.0.0.1/nv }\n", containing: ["https://"])
        expectError("kind: number-verify\nmanifest: m.csv\nendpoints: { base: \"https://user:pw@api.example.com\" }\n", containing: ["credentials"])
        let job = try parse("kind: number-verify\nmanifest: m.csv\nendpoints: { base: http://127.0.0.1:8080/nv, token: http://localhost:8080/t }\n")
        #expect(job.endpoints.base == "http://127.0.0.1:8080/nv")
    }

    /// The loopback rule parses the host: names that merely begin like a loopback address point anywhere.
    @Test(arguments: [
        ("127.0.0.1", true), ("127.255.0.9", true), ("localhost", true), ("LOCALHOST", true), ("[::1]", true),
        ("[0:0:0:0:0:0:0:1]", true), ("127.attacker.example", false), ("127.0.0.1.nip.io", false),
        ("localhost.attacker.example", false), ("128.0.0.1", false), ("[::2]", false), ("[::ffff:127.0.0.1]", false),
        ("1.127.0.0", false),
    ])
    func httpLoopbackIsAParsedAddress(host: String, allowed: Bool) {
        #expect(EndpointPolicy.isLoopback(URLComponents(string: "http://\(host):8080/nv")?.host ?? host) == allowed, "\(host)")
        #expect((EndpointPolicy.problem(with: "http://\(host):8080/nv") == nil) == allowed, "\(host)")
    }

    @Test func credentialsAreVariableNamesNeverValues() {
        expectError("kind: number-verify\nmanifest: m.csv\ncredentials: { client_secret_env: \"s3cr3t!value\" }\n", containing: ["environment variable"])
    }

    @Test(arguments: [("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("15m", .seconds(900)), ("2h", .seconds(7200)), ("1d", .seconds(86400)), ("45", .seconds(45)), ("1.5s", .milliseconds(1500))])
    func parsesDurations(text: String, expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    /// The recurring-job keys: `on_new_manifest`, `history_keep`, `reuse` (number-verify only) and `notify`.
    @Test func readsTheRecurringJobKeys() throws {
        let job = try JobFile.parse(
            "kind: number-verify\nmanifest: m.csv\non_new_manifest: start_over\nhistory_keep: 7\nreuse: 1d\nnotify: { url: https://hooks.example/x, headers_env: HOOK }\n",
            path: path
        )
        #expect(job.onNewManifest == .startOver && job.historyKeep == 7 && job.reuse == .seconds(86_400))
        #expect(job.notify?.url == "https://hooks.example/x" && job.notify?.headerVariable == "HOOK")
        expectError("kind: number-verify\nmanifest: m.csv\non_new_manifest: replace\n", containing: ["`on_new_manifest`", "start_over"])
        #expect(try JobFile.parse("kind: pim-qr\nmanifest: m.csv\ncolumns: { key: k }\nreuse: 12h\n", path: path).reuse == .seconds(43_200))
        expectError("kind: idscan-reports\nmanifest: m.csv\nreuse: 1d\n", containing: ["`reuse`", "number-verify and pim-qr jobs only"])
        expectError("kind: number-verify\nmanifest: m.csv\nnotify: { url: http://hooks.example/x }\n", containing: ["`notify.url`", "https://"])
        expectError("kind: number-verify\nmanifest: m.csv\nhistory_keep: 0\n", containing: ["`history_keep`", "1 to 1000"])
    }

    @Test func pointsEveryEndpointAtASandboxOrigin() throws {
        let job = try parse("kind: number-verify\nmanifest: m.csv\n").pointing(at: "http://127.0.0.1:9999")
        #expect(job.endpoints.base == "http://127.0.0.1:9999/communication/kpn/numberverify")
        #expect(job.endpoints.token == "http://127.0.0.1:9999/communication/kpn/numberverify/token")
    }
}
