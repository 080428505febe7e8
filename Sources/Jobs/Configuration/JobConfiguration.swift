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
    /// The checkpoint database, when set; ``statePath`` applies the default.
    public var state: String?
    /// Manifest column names by role (`msisdn`, `key`, ...). Roles not named default to the role's own name.
    public var columns: [String: String]
    /// The manifest's field separator; nil to detect it from the header.
    public var delimiter: UInt8?
    /// Rows in flight at once. Default 8.
    public var concurrency: Int
    public var endpoints: Endpoints
    public var credentials: Credentials
    public var quota: RateLimiterConfiguration
    public var retry: Retry
    public var http: HTTP
    public var numberVerify: NumberVerifyOptions
    public var pim: PimOptions
    public var idscan: IDScanOptions

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
        /// The wait between attempts: capped exponential with full jitter.
        public var backoff: Backoff
    }

    /// HTTP client limits.
    public struct HTTP: Sendable {
        /// One request's deadline, connection included. Default 30 s.
        public var timeout: Duration
        /// Answers longer than this fail the request. Default 10 MiB.
        public var maxBodyBytes: Int
    }

    /// Options of the `number-verify` kind.
    public struct NumberVerifyOptions: Sendable {
        /// Token scopes: `operator_lookup`, and `device_match` to poll for a device match.
        public var scopes: [String]
        /// How long to poll a device match before recording `pending`. Default 30 s.
        public var pollTimeout: Duration
        /// The wait between polls. Default 2 s.
        public var pollInterval: Duration

        public var pollsDeviceMatch: Bool { scopes.contains("device_match") }
    }

    /// The job file's name without its extension (`number-verify` for `jobs/number-verify.yml`).
    public var jobName: String { URL(fileURLWithPath: jobFile).deletingPathExtension().lastPathComponent }

    /// The checkpoint database: `state`, or `<output>/state.sqlite`.
    public var statePath: String { state ?? output + "/state.sqlite" }

    /// Options of the `pim-qr` kind: the fields of `POST /image`. Per row, manifest columns of the same name
    /// override them (an empty cell keeps the job's value).
    public struct PimOptions: Sendable, Equatable {
        /// The registered redirect URL's reference. Default 1.
        public var redirect = 1
        /// `{column}` fills in from the row.
        public var title = ""
        /// `{column}` fills in from the row.
        public var description = ""
        /// From the 15 documented names; matched ignoring case, sent in the documented spelling.
        public var attributes: [String] = []
        /// Pixels, 100 to 2000. Default 400.
        public var width = 400
        public var height = 400

        public static let allowedAttributes = [
            "Email", "Mobile", "Bankaccountnumber", "NickName", "Initials", "FirstName", "FamilyNamePrefix",
            "FamilyName", "BirthName", "DateOfBirth", "PlaceOfBirth", "Gender", "HeadShot", "BankIdentificationNumber",
            "BankAccountHolderName",
        ]
        public static let sizeRange = 100...2000
        public static let redirectRange = 1...9999

        /// The documented spelling of `name`, or nil when it is not an allowed attribute.
        public static func attribute(named name: String) -> String? {
            let wanted = name.trimmingCharacters(in: .whitespaces).lowercased()
            return allowedAttributes.first { $0.lowercased() == wanted }
        }
    }

    /// Whether the job calls ID Scan (JWT credentials) rather than a KPN gateway (OAuth client credentials).
    public var usesIDScan: Bool { kind == .idscanReports || kind == .idscanCreate }

    /// The manifest column that plays `role`.
    public func column(_ role: String) -> String { columns[role] ?? role }
}

extension JobConfiguration {
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
