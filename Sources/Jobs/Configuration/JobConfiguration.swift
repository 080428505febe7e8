import Foundation
public import RateLimiter

/// Everything a run needs to know, assembled once from the job file and the command line.
///
/// Paths are absolute (the job file's relative paths are resolved against its folder). Secrets are not here:
/// only the names of the environment variables that hold them.
public struct JobConfiguration: Sendable {
    /// The job kinds.
    public enum Kind: String, Sendable, CaseIterable {
        case numberVerify = "number-verify"
        case pimQR = "pim-qr"
        case idscanReports = "idscan-reports"
        case idscanCreate = "idscan-create"
    }

    public var kind: Kind
    /// The job file, for messages.
    public var jobFile: String
    /// The CSV manifest to read.
    public var manifest: String
    /// The folder results.csv, rejects.csv and summary.json go to.
    public var output: String
    /// The checkpoint database, when set; ``statePath`` applies the default. A path is a SQLite file; a
    /// `postgresql://` URL a shared PostgreSQL store (see ``PostgresLocation``).
    public var state: String?
    /// The environment variable holding the PostgreSQL password (`state_password_env`, default `PGPASSWORD`).
    public var statePasswordVariable: String
    /// The campaign's name in a PostgreSQL store (`campaign`); nil for the job file's name. A SQLite state
    /// holds one campaign and ignores it.
    public var campaign: String?
    /// How long a PostgreSQL worker's claims outlive its last heartbeat (`lease`, default 30 s; heartbeat every
    /// third of it).
    public var lease: Duration
    /// How long a PostgreSQL state may take to answer one operation (`state_timeout`, default 30 s): past it the
    /// connection counts as lost and the worker stops with 75, naming the operation.
    public var stateTimeout: Duration
    /// Manifest column names by role (`msisdn`, `key`, ...). Roles not named default to the role's own name.
    public var columns: [String: String]
    /// The manifest's field separator; nil to detect it from the header.
    public var delimiter: UInt8?
    /// Rows in flight at once. Default 8.
    public var concurrency: Int
    /// What the CSV files do with text a spreadsheet would run as a formula (`csv_formulas`, default escape).
    public var csvFormulas: CSVFormulas
    /// What a run does when the manifest differs from the one the state was made from (`on_new_manifest`).
    public var onNewManifest: NewManifestPolicy = .refuse
    /// How many archives of earlier campaigns `<output>/history/` keeps (`history_keep`, default 30).
    public var historyKeep = 30
    /// How old an earlier campaign's answer may be to be reused instead of sent again (`reuse`); nil for never.
    public var reuse: Duration?
    /// Where summary.json goes at the end of every run (`notify`); nil for nowhere.
    public var notify: Notify?
    public var endpoints: Endpoints
    /// Whether `endpoints` are the embedded sandbox's (`run --sandbox`): its results are the emulator's.
    public var isEmbeddedSandbox = false
    public var credentials: Credentials
    public var quota: RateLimiterConfiguration
    public var retry: Retry
    public var http: HTTP
    public var numberVerify: NumberVerifyOptions
    public var pim: PimOptions
    public var idscan: IDScanOptions

    /// A job with every setting at its documented default but the four every job names; this is what a job
    /// file with only `kind` and `manifest` gives (its `output` then defaults to `out/<job file name>`).
    ///
    /// ```swift
    /// var job = JobConfiguration(kind: .numberVerify, jobFile: "/jobs/nv.yml", manifest: "/data/nv.csv", output: "/out/nv")
    /// job.concurrency = 32
    /// ```
    public init(kind: Kind, jobFile: String, manifest: String, output: String) {
        self.kind = kind
        self.jobFile = jobFile
        self.manifest = manifest
        self.output = output
        self.state = nil
        self.statePasswordVariable = "PGPASSWORD"
        self.campaign = nil
        self.lease = .seconds(30)
        self.stateTimeout = .seconds(30)
        self.columns = [:]
        self.delimiter = nil
        self.concurrency = 8
        self.csvFormulas = .escape
        self.endpoints = kind.defaultEndpoints
        self.credentials = kind.defaultCredentials
        self.quota = RateLimiterConfiguration(onExhausted: .wait)
        self.retry = Retry()
        self.http = HTTP()
        self.numberVerify = NumberVerifyOptions()
        self.pim = PimOptions()
        self.idscan = IDScanOptions()
    }

    /// `notify`: a POST of summary.json at the end of every run.
    public struct Notify: Sendable {
        /// `https://`, or `http://` to loopback.
        public var url: String
        /// The environment variable whose value (`Name: value`) is sent as one header (`headers_env`).
        public var headerVariable: String?
    }

    /// `on_new_manifest`: what a run does with a manifest that differs from the state's.
    public enum NewManifestPolicy: String, Sendable, CaseIterable {
        /// Exit 65 (the default): the file changed by mistake, or belongs to another campaign.
        case refuse
        /// A recurring job: once the state's campaign is finished, archive its outputs to `<output>/history/` and
        /// start a new campaign with the new manifest; an unfinished campaign still exits 65.
        case startOver = "start_over"
    }

    /// Where requests go. Defaults are production; `--sandbox` points both at the embedded sandbox.
    public struct Endpoints: Sendable {
        public var base: String
        public var token: String?
    }

    /// The environment variables that hold the credentials: client id and secret for the KPN gateway, key id and
    /// secret for ID Scan.
    public struct Credentials: Sendable {
        public var clientIDVariable: String
        public var clientSecretVariable: String
    }

    /// Retries of transient failures (500, 502, 503, transport errors, timeouts).
    public struct Retry: Sendable {
        /// Attempts per row, the first included; rate-limit answers never count. Default 6.
        public var maxAttempts: Int
        /// The wait between attempts: capped exponential with full jitter. Default 0.5 s doubling to 30 s.
        public var backoff: Backoff

        public init(maxAttempts: Int = 6, backoff: Backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))) {
            self.maxAttempts = maxAttempts
            self.backoff = backoff
        }
    }

    /// HTTP client limits and the network path (the environment fills in what is not set here; see
    /// `NetworkSettings`).
    public struct HTTP: Sendable {
        /// One request's deadline, connection included. Default 30 s.
        public var timeout: Duration
        /// Answers longer than this fail the request. Default 10 MiB.
        public var maxBodyBytes: Int
        /// A PEM bundle trusted in addition to the system roots (absolute), from `http.ca_file`.
        public var caFile: String?
        /// `http.proxy`: a proxy, or `none` to ignore the environment's; nil when the job file does not say.
        package var proxy: ProxySetting?
        /// `http.no_proxy`: hosts that bypass the proxy; nil when the job file does not say.
        public var noProxy: [String]?

        public init(timeout: Duration = .seconds(30), maxBodyBytes: Int = 10 << 20) {
            self.timeout = timeout
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// What `http.proxy` says.
    package enum ProxySetting: Sendable, Equatable {
        /// `none`: connect directly, whatever the environment says.
        case none
        case server(ProxyServer)
    }

    /// The job file's name without its extension (`number-verify` for `jobs/number-verify.yml`).
    public var jobName: String { URL(fileURLWithPath: jobFile).deletingPathExtension().lastPathComponent }

    /// The checkpoint database: `state`, or `<output>/state.sqlite`.
    public var statePath: String { state ?? output + "/state.sqlite" }

    /// The campaign a PostgreSQL store files this job's rows under.
    public var campaignName: String { campaign ?? jobName }

    /// Whether the job calls ID Scan (JWT credentials) rather than a KPN gateway (OAuth client credentials).
    public var usesIDScan: Bool { kind == .idscanReports || kind == .idscanCreate }

    /// The manifest column that plays `role`.
    public func column(_ role: String) -> String { columns[role] ?? role }
}

extension JobConfiguration {
    /// What this job records of itself in its state (see ``StateProvenance``); `rowSettings` is its job's
    /// ``BatchJob/intakeSettings``.
    package func provenance(rowSettings: IntakeSettings) -> StateProvenance {
        StateProvenance(
            kind: kind.rawValue, rowSettings: rowSettings.stored, jobFile: jobFile, manifest: manifest,
            origins: isEmbeddedSandbox ? [] : StateProvenance.origins(of: [endpoints.base] + (endpoints.token.map { [$0] } ?? [])),
            sandbox: isEmbeddedSandbox
        )
    }

    /// This job pointed at a server that serves the APIs at their production paths under `origin`
    /// (`http://127.0.0.1:8080`), as the sandbox does.
    public func pointing(at origin: String) -> JobConfiguration {
        var copy = self
        let defaults = kind.defaultEndpoints
        func move(_ url: String) -> String {
            guard let components = URLComponents(string: url), let host = components.host else { return url }
            let prefix = "\(components.scheme ?? "https")://\(host)"
            return origin + url.dropFirst(prefix.count)
        }
        copy.endpoints = Endpoints(base: move(defaults.base), token: defaults.token.map(move))
        return copy
    }
}

extension JobConfiguration.Kind {
    /// The environment variables each kind's credentials are read from by default.
    var defaultCredentials: JobConfiguration.Credentials {
        switch self {
        case .numberVerify, .pimQR:
            .init(clientIDVariable: "KPN_CLIENT_ID", clientSecretVariable: "KPN_CLIENT_SECRET")
        case .idscanReports, .idscanCreate:
            .init(clientIDVariable: "IDSCAN_KEY_ID", clientSecretVariable: "IDSCAN_SECRET")
        }
    }

    /// Production endpoints of each kind.
    var defaultEndpoints: JobConfiguration.Endpoints {
        switch self {
        case .numberVerify:
            .init(
                base: "https://api-prd.kpn.com/communication/kpn/numberverify",
                token: "https://api-prd.kpn.com/communication/kpn/numberverify/token"
            )
        case .pimQR:
            .init(
                base: "https://api-prd.kpn.com/kpn/qrcodegenerator",
                token: "https://api-prd.kpn.com/oauth/client_credential/accesstoken?grant_type=client_credentials"
            )
        case .idscanReports, .idscanCreate:
            .init(base: "https://api.cm.com/id-scan/v1", token: nil)
        }
    }
}
