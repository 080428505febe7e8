import Foundation
import RateLimiter
import Yams

/// Reads a job file (YAML) into a ``JobConfiguration``.
///
/// Strict: an unknown key, a value of the wrong type or out of range fails with a message naming the key and
/// its line, so a typo never silently runs a job with defaults.
public enum JobFile {
    /// Loads and validates the job file at `path`.
    ///
    /// - Throws: ``JobFileError`` for every problem in the file, or when it cannot be read.
    public static func load(path: String) throws(JobFileError) -> JobConfiguration {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw JobFileError("Job file \(path) does not exist or is a folder; pass the path of a .yml file.")
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw JobFileError("Job file \(path) cannot be read as UTF-8 text (is it a YAML file?); check its permissions, and save it as UTF-8.")
        }
        return try parse(text, path: url.standardizedFileURL.path)
    }

    /// Parses job file text; relative paths resolve against the folder of `path`.
    public static func parse(_ text: String, path: String) throws(JobFileError) -> JobConfiguration {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw JobFileError("\(path)\(Self.describeSyntaxError(error, text: text)) Fix the syntax and run again.")
        }
        guard let node else { throw JobFileError("Job file \(path) is empty; it needs at least `kind` and `manifest`.") }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var root = try YAMLObject(node, path: "", file: path)
        return try build(&root, folder: folder, file: path)
    }

    private static func build(_ root: inout YAMLObject, folder: URL, file: String) throws(JobFileError) -> JobConfiguration {
        let kindText = try root.requiredString("kind")
        guard let kind = JobConfiguration.Kind(rawValue: kindText) else {
            let kinds = JobConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw root.error("kind", "`\(kindText)` is not a job kind; use one of \(kinds)")
        }
        func resolve(_ relative: String) -> String {
            URL(fileURLWithPath: relative, relativeTo: folder).standardizedFileURL.path
        }
        let manifest = resolve(try root.requiredString("manifest"))
        let jobName = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let output = resolve(try root.string("output") ?? "out/\(jobName)")
        let state = try root.string("state").map { StoreLocation.urlScheme(of: $0) == nil ? resolve($0) : $0 }
        if let state, StoreLocation.urlScheme(of: state) != nil {
            do {
                _ = try StoreLocation(state)
            } catch {
                throw root.error("state", error.locationProblem)
            }
        }
        let statePasswordVariable = try root.variableName("state_password_env")
        let campaign = try root.string("campaign")
        if let campaign, campaign.isEmpty || campaign.count > 200 || campaign.contains(where: \.isNewline) {
            throw root.error("campaign", "must be a name of 1 to 200 characters on one line")
        }
        let lease = try root.duration("lease")
        if let lease, lease < .seconds(3) || lease > .seconds(3600) {
            throw root.error("lease", "must be between 3s and 1h (workers renew it every third of it)")
        }
        let stateTimeout = try root.duration("state_timeout")
        if let stateTimeout, stateTimeout < .seconds(1) || stateTimeout > .seconds(3600) {
            throw root.error("state_timeout", "must be between 1s and 1h (how long one operation of a PostgreSQL state may take)")
        }

        var columns: [String: String] = [:]
        if var object = try root.object("columns") {
            for role in Self.columnRoles(of: kind) {
                if let name = try object.string(role) { columns[role] = name }
            }
            try object.finish()
        }
        let delimiter = try root.string("delimiter").map { (text) throws(JobFileError) -> UInt8 in
            switch text {
            case ",", "comma": return UInt8(ascii: ",")
            case ";", "semicolon": return UInt8(ascii: ";")
            case "\t", "tab", "\\t": return UInt8(ascii: "\t")
            case "|", "pipe": return UInt8(ascii: "|")
            default: throw root.error("delimiter", "`\(text)` is not a delimiter; use comma, semicolon, tab or pipe")
            }
        }
        let concurrency = try root.integer("concurrency", in: 1...256)
        let csvFormulas = try root.string("csv_formulas").map { (text) throws(JobFileError) -> CSVFormulas in
            guard let formulas = CSVFormulas(rawValue: text) else {
                throw root.error("csv_formulas", "`\(text)` is not a choice; use escape (the default: a leading ' before text a spreadsheet would run) or keep")
            }
            return formulas
        }

        let onNewManifest = try root.string("on_new_manifest").map { (text) throws(JobFileError) -> JobConfiguration.NewManifestPolicy in
            guard let policy = JobConfiguration.NewManifestPolicy(rawValue: text) else {
                throw root.error("on_new_manifest", "`\(text)` is not a choice; use refuse (the default: a changed manifest exits 65) or start_over (a recurring job: a finished campaign's outputs go to history/ and a new one starts)")
            }
            return policy
        }
        let historyKeep = try root.integer("history_keep", in: 1...1000)
        let reuse = try root.duration("reuse")
        if reuse != nil, kind != .numberVerify, kind != .pimQR {
            throw root.error("reuse", "applies to number-verify and pim-qr jobs only (an ID Scan transaction or report is never the same twice); remove it")
        }

        let defaults = kind.defaultEndpoints
        var endpoints = defaults
        if var object = try root.object("endpoints") {
            endpoints.base = try object.string("base") ?? defaults.base
            endpoints.token = try object.string("token") ?? defaults.token
            for (key, value) in [("base", endpoints.base), ("token", endpoints.token)] {
                guard let value else { continue }
                if let problem = EndpointPolicy.problem(with: value) { throw object.error(key, problem) }
            }
            try object.finish()
        }

        let usesIDScan = kind == .idscanReports || kind == .idscanCreate
        var credentials = kind.defaultCredentials
        if var object = try root.object("credentials") {
            let (idKey, secretKey) = usesIDScan ? ("key_id_env", "secret_env") : ("client_id_env", "client_secret_env")
            credentials.clientIDVariable = try object.variableName(idKey) ?? credentials.clientIDVariable
            credentials.clientSecretVariable = try object.variableName(secretKey) ?? credentials.clientSecretVariable
            try object.finish()
        }

        var quota = RateLimiterConfiguration(onExhausted: .wait)
        var maxWait = Duration.seconds(900)
        var waits = true
        if var object = try root.object("quota") {
            if let policy = try object.string("on_exhausted") {
                guard policy == "wait" || policy == "stop" else {
                    throw object.error("on_exhausted", "`\(policy)` is not a policy; use wait or stop")
                }
                waits = policy == "wait"
            }
            maxWait = try object.duration("max_wait") ?? maxWait
            quota.smooth = try object.bool("smooth") ?? false
            if let share = try object.number("share", above: 0) {
                guard share <= 1 else { throw object.error("share", "must be above 0 and at most 1 (the share of the quota this job may spend), not `\(share)`") }
                quota.share = share
            }
            try object.finish()
        }
        quota.onExhausted = waits ? .wait : .stop(maxWait: maxWait)
        if var object = try root.object("limits") {
            quota.maxPerSecond = try object.number("max_per_second", above: 0)
            try object.finish()
        }

        var retry = JobConfiguration.Retry()
        if var object = try root.object("retry") {
            retry.maxAttempts = try object.integer("max_attempts", in: 1...100) ?? retry.maxAttempts
            retry.backoff.base = try object.duration("base_delay") ?? retry.backoff.base
            retry.backoff.cap = try object.duration("max_delay") ?? retry.backoff.cap
            try object.finish()
        }

        var http = JobConfiguration.HTTP()
        if var object = try root.object("http") {
            http.timeout = try object.duration("timeout") ?? http.timeout
            if let megabytes = try object.integer("max_body_mb", in: 1...1024) { http.maxBodyBytes = megabytes << 20 }
            http.caFile = try object.string("ca_file").map(resolve)
            if let proxy = try object.string("proxy") {
                if proxy.lowercased() == "none" {
                    http.proxy = JobConfiguration.ProxySetting.none
                } else {
                    switch ProxyServer.parse(proxy) {
                    case .success(let server): http.proxy = .server(server)
                    case .failure(let problem): throw object.error("proxy", "is not a proxy URL: \(problem.description) (write http://[user:password@]host:port, or none)")
                    }
                }
            }
            http.noProxy = try object.strings("no_proxy")
            // An http endpoint (loopback only) never goes through a proxy: the proxy, which may be anywhere,
            // would receive the client secret in clear. The environment's proxy is ignored for it (NetworkSettings);
            // a proxy the job file names is a contradiction, refused.
            if case .server = http.proxy, let plain = [endpoints.base, endpoints.token].compactMap({ $0 }).first(where: { $0.lowercased().hasPrefix("http:") }) {
                let origin = URLComponents(string: plain).map { "http://\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" } ?? "http://"
                throw object.error(
                    "proxy",
                    "is set, but the endpoint \(origin) uses http://: through a proxy its requests, the client secret among them, would travel in clear to the proxy's host. An http:// endpoint never goes through a proxy; remove http.proxy (or write none), or use https:// endpoints"
                )
            }
            try object.finish()
        }

        var notify: JobConfiguration.Notify?
        if var object = try root.object("notify") {
            guard let url = try object.string("url") else { throw object.error("url", "is missing; write the receiver's https:// URL") }
            if let problem = EndpointPolicy.problem(with: url) { throw object.error("url", problem) }
            notify = JobConfiguration.Notify(url: url, headerVariable: try object.variableName("headers_env"))
            try object.finish()
        }

        let numberVerify = try JobConfiguration.NumberVerifyOptions.read(from: &root, kind: kind)
        let pim = try JobConfiguration.PimOptions.read(from: &root, kind: kind)
        let idscan = try JobConfiguration.IDScanOptions.read(from: &root, kind: kind)
        if kind == .pimQR, columns["key"] == nil {
            throw JobFileError("\(file): kind pim-qr needs `columns: { key: <column> }`: the key names each QR file.")
        }
        try root.finish()

        var job = JobConfiguration(kind: kind, jobFile: file, manifest: manifest, output: output)
        job.state = state
        job.statePasswordVariable = statePasswordVariable ?? job.statePasswordVariable
        job.campaign = campaign
        job.lease = lease ?? job.lease
        job.stateTimeout = stateTimeout ?? job.stateTimeout
        job.columns = columns
        job.delimiter = delimiter
        job.concurrency = concurrency ?? job.concurrency
        job.csvFormulas = csvFormulas ?? job.csvFormulas
        job.onNewManifest = onNewManifest ?? job.onNewManifest
        job.historyKeep = historyKeep ?? job.historyKeep
        job.notify = notify
        job.reuse = reuse
        job.endpoints = endpoints
        job.credentials = credentials
        job.quota = quota
        job.retry = retry
        job.http = http
        job.numberVerify = numberVerify
        job.pim = pim
        job.idscan = idscan
        return job
    }

    /// A YAML syntax error in one line, without the file's text (Yams quotes all of it for a duplicate key):
    /// ` line 5, column 1: <problem>.`
    static func describeSyntaxError(_ error: any Error, text: String) -> String {
        func place(_ mark: Mark) -> String { " line \(mark.line), column \(mark.column)" }
        func tabHint(_ mark: Mark) -> String {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard mark.line >= 1, mark.line <= lines.count else { return "" }
            let indentation = lines[mark.line - 1].prefix { $0 == " " || $0 == "\t" }
            return indentation.contains("\t") ? " The line is indented with a tab; YAML indents with spaces only." : ""
        }
        guard let error = error as? YamlError else { return ": is not valid YAML (\(error))." }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text), from line \($0.mark.line))" } ?? ""
            return "\(place(mark)): not valid YAML: \(problem)\(during).\(tabHint(mark))"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            return " line \(context.mark.line): the key \(keys) appears more than once in the same mapping; keep one."
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in " line \(text.prefix(offset).count { $0 == "\n" } + 1)" } ?? ""
            return "\(line): not valid YAML text: \(problem) (a binary file, or a control character?)."
        default:
            return ": is not valid YAML (\(error))."
        }
    }

    /// The column roles each kind reads from the manifest.
    static func columnRoles(of kind: JobConfiguration.Kind) -> [String] {
        switch kind {
        case .numberVerify: ["msisdn", "key"]
        case .pimQR: ["key"]
        case .idscanReports: ["transaction_id", "result_id"]
        case .idscanCreate: ["key"]
        }
    }
}
