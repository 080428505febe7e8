import ArgumentParser
import Foundation
import Logging
import Sandbox
import ServiceLifecycle
import UnixSignals

/// `batch-runner sandbox`: serves the emulated APIs until stopped.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve the emulated Number Verify, PiM ID and ID Scan APIs until stopped.",
        discussion: """
            Example (a quota of 600 calls a minute, 10% server errors):
              batch-runner sandbox --port 8080 --quota-limit 600 --fault-rate 0.1
            Over HTTPS, to rehearse a proxy and CA setup (the certificate must name the host the job uses):
              batch-runner sandbox --port 8443 --tls-cert server.pem --tls-key server-key.pem
            Point a job's endpoints at http://127.0.0.1:8080 with the production paths, and export
            KPN_CLIENT_ID=\(SandboxConfiguration().clientID) KPN_CLIENT_SECRET=\(SandboxConfiguration().clientSecret).
            ID Scan is served under /id-scan/v1 and takes HS256 JWTs made with the demo credentials
            IDSCAN_KEY_ID=\(SandboxConfiguration().idscanKeyID) IDSCAN_SECRET=\(SandboxConfiguration().idscanSecret).
            """
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port (0 for any free port; the chosen one is printed).")
    var port = 8080

    @Option(help: "Calls allowed per quota window (0 for no quota).")
    var quotaLimit = 1_200

    @Option(help: "The quota window's length, in quota-time-unit.")
    var quotaInterval = 1

    @Option(help: "The quota window's unit: second, minute, hour, day, week or month.")
    var quotaTimeUnit = "minute"

    @Flag(inversion: .prefixedNo, help: "Send the quota-* headers (the quota is enforced either way).")
    var quotaHeaders = true

    @Option(help: "Form of quota-reset-UTC: epoch-ms, epoch-s, iso8601, rfc1123 or n/a.")
    var resetFormat = "epoch-ms"

    @Option(help: "Status of a quota violation: 429, or 500 as old gateways send it.")
    var rateLimitStatus = 429

    @Flag(help: "Send Retry-After with rate-limit answers.")
    var retryAfter = false

    @Option(help: "Header-less spike arrest: at most this many calls a minute, evenly spaced.")
    var spikeArrest: Int?

    @Option(help: ArgumentHelp("Header-less sliding window: at most LIMIT calls in any SECONDS (e.g. 30/10).", valueName: "LIMIT/SECONDS"))
    var slidingWindow: String?

    @Option(help: ArgumentHelp("Header-less token bucket: RATE calls a second, BURST at once (e.g. 5/20).", valueName: "RATE/BURST"))
    var tokenBucket: String?

    @Option(help: "At most this many calls open at once; one more is answered 429 at once.")
    var concurrencyLimit: Int?

    @Option(help: "Share of calls answered 500, 502 or 503 (0 to 1).")
    var faultRate = 0.0

    @Option(help: "Share of calls whose connection is dropped without an answer (0 to 1).")
    var dropRate = 0.0

    @Option(help: "Share of calls answered late, after --slow-seconds (0 to 1).")
    var slowRate = 0.0

    @Option(help: "Answers that echo the request back: none, token (the token endpoints answer 503 quoting the form, secret included) or api (every call answers 400 quoting its Authorization header).")
    var echo = "none"

    @Option(help: "Share of calls whose body, after the head, comes one byte every --slow-seconds (0 to 1).")
    var stallRate = 0.0

    @Option(help: "How late a slow answer is, in seconds.")
    var slowSeconds = 5.0

    @Option(help: "Latency added to every answer, in milliseconds.")
    var latencyMs = 0

    @Option(help: "Lifetime of issued tokens, in seconds.")
    var tokenLifetime = 3_600

    @Option(help: "Seed of the fault injection.")
    var seed: UInt64 = 1

    @Flag(help: "Answer insights with bare session_id/polling_id (the public spec's form).")
    var bareDeviceMatchIDs = false

    @Flag(help: "Put spreadsheet formulas in answer text (operator names, error messages).")
    var formulaAnswers = false

    @Option(help: "Framing of PiM's Base64 SVG: base64, json-string, json-object, or not-svg (a PNG, to test failures).")
    var imageFraming = "json-object"

    @Option(help: "Clock skew allowed on an ID Scan JWT's nbf and exp, in seconds.")
    var jwtLeeway = 5

    @Option(help: "Size of an ID Scan audit report (simple or extended), in bytes.")
    var reportBytes = 4_096

    @Option(help: "Damage ID Scan audit reports on purpose: none, truncated (no %%EOF), or html (a text/html page).")
    var reportDamage = "none"

    @Option(help: "Break successful answers on purpose: none, truncated, wrong-types or huge.")
    var answerDamage = "none"

    @Option(help: "Share of successful answers --answer-damage breaks (0 to 1).")
    var answerDamageRate = 1.0

    @Option(help: "Write every request as a JSON line to this file.")
    var requestLog: String?

    @Option(help: "Serve HTTPS with this certificate (chain), a PEM file; needs --tls-key.")
    var tlsCert: String?

    @Option(help: "The private key of --tls-cert, a PEM file.")
    var tlsKey: String?

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together.") }
        guard SandboxConfiguration.TimeUnit(rawValue: quotaTimeUnit) != nil else {
            throw ValidationError("--quota-time-unit must be one of second, minute, hour, day, week, month.")
        }
        guard SandboxConfiguration.ResetFormat(rawValue: resetFormat) != nil else {
            throw ValidationError("--reset-format must be one of epoch-ms, epoch-s, iso8601, rfc1123, n/a.")
        }
        guard SandboxConfiguration.ImageFraming(rawValue: imageFraming) != nil else {
            throw ValidationError("--image-framing must be one of base64, json-string, json-object, not-svg.")
        }
        guard SandboxConfiguration.ReportDamage(rawValue: reportDamage) != nil else {
            throw ValidationError("--report-damage must be one of none, truncated, html.")
        }
        guard SandboxConfiguration.AnswerDamage(rawValue: answerDamage) != nil else {
            throw ValidationError("--answer-damage must be one of none, truncated, wrong-types, huge.")
        }
        guard SandboxConfiguration.Echo(rawValue: echo) != nil else {
            throw ValidationError("--echo must be one of none, token, api.")
        }
        guard (0...1).contains(answerDamageRate) else { throw ValidationError("--answer-damage-rate must be from 0 to 1.") }
        guard jwtLeeway >= 0 else { throw ValidationError("--jwt-leeway must not be negative.") }
        if let slidingWindow, Self.pair(slidingWindow).map({ $0.0 >= 1 && $0.0 == $0.0.rounded() && $0.1 > 0 }) != true {
            throw ValidationError("--sliding-window takes LIMIT/SECONDS, a whole number of calls and a number of seconds: 30/10.")
        }
        if let tokenBucket, Self.pair(tokenBucket).map({ $0.0 > 0 && $0.1 >= 1 && $0.1 == $0.1.rounded() }) != true {
            throw ValidationError("--token-bucket takes RATE/BURST, calls a second and a whole number of calls: 5/20.")
        }
        if let concurrencyLimit, concurrencyLimit < 1 { throw ValidationError("--concurrency-limit must be 1 or more.") }
        guard reportBytes >= 0 else { throw ValidationError("--report-bytes must not be negative.") }
        for (name, rate) in [("--fault-rate", faultRate), ("--drop-rate", dropRate), ("--slow-rate", slowRate), ("--stall-rate", stallRate)] where !(0...1).contains(rate) {
            throw ValidationError("\(name) must be from 0 to 1.")
        }
    }

    var sandboxConfiguration: SandboxConfiguration {
        var configuration = SandboxConfiguration()
        configuration.quota = quotaLimit > 0 ? .init(limit: quotaLimit, interval: quotaInterval, unit: .init(rawValue: quotaTimeUnit)!) : nil
        configuration.sendsQuotaHeaders = quotaHeaders
        configuration.resetFormat = .init(rawValue: resetFormat)!
        configuration.rateLimitStatus = rateLimitStatus
        configuration.sendsRetryAfter = retryAfter
        configuration.spikeArrestPerMinute = spikeArrest
        configuration.slidingWindow = slidingWindow.flatMap(Self.pair).map { (Int($0.0), $0.1) }
        configuration.tokenBucket = tokenBucket.flatMap(Self.pair).map { ($0.0, Int($0.1)) }
        configuration.concurrencyLimit = concurrencyLimit
        configuration.faultRate = faultRate
        configuration.dropRate = dropRate
        configuration.slowRate = slowRate
        configuration.stallRate = stallRate
        configuration.echo = .init(rawValue: echo)!
        configuration.slowDelay = .milliseconds(Int64(slowSeconds * 1000))
        configuration.latency = .milliseconds(latencyMs)
        configuration.tokenLifetimeSeconds = tokenLifetime
        configuration.seed = seed
        configuration.sendsBareDeviceMatchIDs = bareDeviceMatchIDs
        configuration.sendsFormulaText = formulaAnswers
        configuration.imageFraming = .init(rawValue: imageFraming)!
        configuration.jwtLeewaySeconds = jwtLeeway
        configuration.reportBytes = reportBytes
        configuration.reportDamage = .init(rawValue: reportDamage)!
        configuration.answerDamage = .init(rawValue: answerDamage)!
        configuration.answerDamageRate = answerDamageRate
        configuration.requestLogPath = requestLog
        if let tlsCert, let tlsKey { configuration.tls = .init(certificatePath: absolutePath(tlsCert), keyPath: absolutePath(tlsKey)) }
        return configuration
    }

    func run() async throws {
        let sandbox = Sandbox(configuration: sandboxConfiguration)
        let host = self.host
        let scheme = tlsCert == nil ? "http" : "https"
        let service: any Service
        do {
            service = try sandbox.service(host: host, port: port) { port in
                FileHandle.standardOutput.write(Data("sandbox listening on \(scheme)://\(host):\(port)\n".utf8))
            }
        } catch {
            throw failure(code: 78, "Cannot read --tls-cert or --tls-key as PEM: \(error)")
        }
        // SIGINT or SIGTERM: answer the requests in flight, then stop.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [], logger: Logger(label: "sandbox", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        )
        try await group.run()
    }

    /// `30/10` as (30, 10); nil when it is not two positive numbers around a slash.
    static func pair(_ text: String) -> (Double, Double)? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let first = Double(parts[0]), let second = Double(parts[1]), first.isFinite, second.isFinite else { return nil }
        return (first, second)
    }
}
