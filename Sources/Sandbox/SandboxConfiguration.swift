import NIOSSL
import RateLimiter

/// How the sandbox behaves: its quota, its faults, its credentials. Every knob has a `sandbox` command option.
public struct SandboxConfiguration: Sendable {
    /// A per-client quota, as KPN's gateway enforces it: `limit` calls per `interval` x `unit`.
    public struct Quota: Sendable, Equatable {
        public var limit: Int
        public var interval: Int
        public var unit: TimeUnit

        public init(limit: Int, interval: Int = 1, unit: TimeUnit = .minute) {
            self.limit = limit
            self.interval = interval
            self.unit = unit
        }

        public var windowSeconds: Double { Double(interval) * unit.seconds }
    }

    public enum TimeUnit: String, Sendable, CaseIterable {
        case second, minute, hour, day, week, month

        /// As the runner counts it (a month is 30 days).
        public var seconds: Double {
            Double(QuotaTimeUnit(header: rawValue)?.seconds ?? 60)
        }
    }

    /// The forms `quota-reset-UTC` can be sent in (the real one is undocumented).
    public enum ResetFormat: String, Sendable, CaseIterable {
        case epochMilliseconds = "epoch-ms"
        case epochSeconds = "epoch-s"
        case iso8601
        case rfc1123
        case notAvailable = "n/a"
    }

    /// How PiM's `/image` frames the Base64 SVG (unconfirmed upstream, so all three are served).
    public enum ImageFraming: String, Sendable, CaseIterable {
        case bareBase64 = "base64"
        case jsonString = "json-string"
        case jsonObject = "json-object"
        /// A Base64 PNG header instead of an SVG, to test that such answers fail their rows.
        case notSVG = "not-svg"
    }

    /// How ID Scan's audit reports are damaged on purpose, to test the runner's completeness check.
    public enum ReportDamage: String, Sendable, CaseIterable {
        /// Complete PDFs.
        case none
        /// The PDF cut in half (no `%%EOF`), still 200 `application/pdf`.
        case truncated
        /// 200 `text/html` with `<html>error</html>` instead of a PDF.
        case html
    }

    /// Demo credentials of the gateway (Number Verify and PiM ID).
    public var clientID = "sandbox-client"
    public var clientSecret = "sandbox-secret"
    /// Demo ID Scan credentials.
    public var idscanKeyID = "3b438437-04a4-40bb-8389-54bb02766fba"
    public var idscanSecret = "sandbox-idscan-secret"
    /// Clock skew allowed on a JWT's `nbf` and `exp`, in seconds.
    public var jwtLeewaySeconds = 5
    /// Size of an ID Scan audit report (simple or extended), in bytes; never less than the bare PDF (700 to 1,000 bytes, with the IDs).
    public var reportBytes = 4_096
    public var reportDamage = ReportDamage.none
    /// How successful answers are broken, for `answerDamageRate` of them (recorded as `damaged`).
    public enum AnswerDamage: String, Sendable, CaseIterable {
        case none
        /// The first half of the body: JSON cut off mid-way.
        case truncated
        /// Valid JSON whose fields have the wrong types.
        case wrongTypes = "wrong-types"
        /// `hugeAnswerBytes` of padding, past any sane cap.
        case huge
    }
    /// Answer every API call with a redirect to the same path under this origin (`http://127.0.0.1:9999`), to test
    /// that clients do not carry their credentials to another host.
    public var redirectOrigin: String?
    public var answerDamage = AnswerDamage.none
    public var answerDamageRate = 1.0
    public var hugeAnswerBytes = 12 << 20
    /// nil: no quota. Default 1,200 calls a minute.
    public var quota: Quota? = Quota(limit: 1_200)
    /// Send the quota-* headers. Off: the quota is still enforced, silently.
    public var sendsQuotaHeaders = true
    public var resetFormat = ResetFormat.epochMilliseconds
    /// The status of a quota violation: 429, or 500 as old Apigee gateways send it (the fault body is the same).
    public var rateLimitStatus = 429
    /// Send `Retry-After` with rate-limit answers.
    public var sendsRetryAfter = false
    /// Header-less spike arrest: at most this many calls a minute, evenly spaced (Apigee `SpikeArrest`).
    public var spikeArrestPerMinute: Int?
    /// Header-less sliding window: at most `limit` calls in any span of `seconds` (a rolling log, as Kong offers).
    public var slidingWindow: (limit: Int, seconds: Double)?
    /// Header-less token bucket refilled at `rate` calls a second, holding `burst` (GCRA, as AWS API Gateway does).
    public var tokenBucket: (rate: Double, burst: Int)?
    /// At most this many calls open at once: one more is answered 429 at once (a gateway protecting a backend).
    public var concurrencyLimit: Int?
    /// Share of calls answered 500, 502 or 503.
    public var faultRate = 0.0
    /// Share of calls whose connection is closed without an answer.
    public var dropRate = 0.0
    /// Share of calls answered only after `slowDelay`.
    public var slowRate = 0.0
    public var slowDelay: Duration = .seconds(5)
    /// Answers that echo the request back, as a misconfigured gateway or a debugging proxy does: `token` makes
    /// the token endpoints answer 503 quoting the form they were sent (client secret included), `api` makes every
    /// API call answer 400 quoting its `Authorization` header (the bearer token).
    public var echo = Echo.none
    public enum Echo: String, Sendable, CaseIterable {
        case none, token, api
    }
    /// Share of calls whose answer sends its head at once and then its body one byte every `slowDelay`: a
    /// gateway that stalls mid-answer.
    public var stallRate = 0.0
    /// Added to every answer.
    public var latency: Duration = .zero
    /// Lifetime of the bearer tokens the sandbox issues.
    public var tokenLifetimeSeconds = 3_600
    /// Seed of the fault injection's random numbers.
    public var seed: UInt64 = 1
    /// Answer insights with the public spec's bare `session_id`/`polling_id` instead of the seed's URIs.
    public var sendsBareDeviceMatchIDs = false
    /// How `POST /_sandbox/notify` (a stand-in for `notify.url`'s receiver) answers.
    public enum NotifyAnswer: String, Sendable {
        /// 204.
        case accept
        /// 500, every time.
        case refuse
        /// Nothing for five minutes.
        case hang
    }
    public var notifyAnswer = NotifyAnswer.accept
    /// Numbers (digits with country code) whose lookup answers a bare 404, an HTML page as a gateway gives for a
    /// route it does not know, rather than Number Verify's error body (which numbers ending in `404` get).
    public var bareNotFoundNumbers: Set<String> = []
    /// Put spreadsheet formulas in answer text (Number Verify operator names and error messages), to show that
    /// the runner's CSV files never carry a live formula.
    public var sendsFormulaText = false
    public var imageFraming = ImageFraming.jsonObject
    /// Append every request to this file as JSON lines (time, endpoint, subject, status, outcome).
    public var requestLogPath: String?
    /// Serve HTTPS with this certificate and key instead of plain HTTP.
    public var tls: TLS?

    public init() {}

    /// A server certificate (chain) and its private key, both PEM files.
    public struct TLS: Sendable, Equatable {
        public var certificatePath: String
        public var keyPath: String

        public init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }

        /// The server TLS configuration: the chain and key as given.
        ///
        /// - Throws: When either file cannot be read as PEM.
        func serverConfiguration() throws -> TLSConfiguration {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
    }
}
