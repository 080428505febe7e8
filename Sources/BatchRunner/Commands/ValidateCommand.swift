import ArgumentParser
import Foundation
import Jobs
import RateLimiter

/// `batch-runner validate JOB.yml`: checks a job before it runs, without calling any API.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a job file, its credential variables and its manifest; with --connect, the network path too.",
        discussion: """
            Example:
              batch-runner validate jobs/number-verify.yml
              batch-runner validate jobs/pim-qr.yml --manifest campaign.csv --json
              batch-runner validate jobs/number-verify.yml --connect
            Reads the manifest exactly as a run would (same rules, same rejects) and reports the counts and the
            first rejected rows with their reasons. Exits 0 when the job can run (rejected rows included), 65 when
            the manifest cannot be used, 78 when the job file, a credential variable or a network setting is wrong.

            --connect then connects to every endpoint the job uses (through the proxy that applies), completes the
            TLS handshake and, where the API has a token endpoint, mints a token (token requests use no quota; ID
            Scan gets no authenticated request). It prints the route, the certificate's subject and issuer, and the
            token answer's quota headers. A postgresql:// state is reached too, with the run's login: the database,
            and the rights a run needs (to create its tables, or to use them). It exits 69 when the service or the
            database refuses, or cannot be reached or trusted. Run it from the job's own environment (cron's,
            systemd's) before scheduling.
            """
    )

    @Argument(help: "The job file (YAML).")
    var jobFile: String

    @Option(help: "Check this manifest instead of the job file's.")
    var manifest: String?

    @Flag(help: "Do not check the credential variables (for runs with --sandbox).")
    var sandbox = false

    @Option(help: "List at most this many rejected rows.")
    var rejects = 20

    @Flag(help: "Also connect to the job's endpoints: proxy, TLS and a token, without spending quota.")
    var connect = false

    @Flag(help: "Print the report as JSON, for scripts.")
    var json = false

    func validate() throws {
        if connect, sandbox { throw ValidationError("--connect checks the job's own endpoints; drop --sandbox.") }
    }

    func run() async throws {
        var job: JobConfiguration
        var credentials: ClientCredentials?
        var network = NetworkSettings()
        do {
            job = try JobFile.load(path: jobFile)
            if let manifest { job.manifest = absolutePath(manifest) }
            // A run with --sandbox keeps its answers as the sandbox's: `reuse` is counted from those.
            job.isEmbeddedSandbox = sandbox
            if !sandbox { credentials = try Credentials.resolve(job.credentials) }
            network = try NetworkSettings.resolve(job.http, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw failure(error)
        }
        var report: JobValidation
        do {
            // A PostgreSQL state is reached only with --connect: without it, validate needs no network.
            let stateIsLocal = if case .sqlite = try StoreLocation(job.statePath) { true } else { false }
            report = try await JobValidation.validate(job, rejectLimit: max(rejects, 0), readState: stateIsLocal || connect)
        } catch {
            throw failure(error, during: .validation)
        }
        if connect, let credentials {
            report.connect = await ConnectionCheck.run(job, credentials: credentials, network: network)
        }
        let exitCode = report.connect?.exitCode ?? ExitStatus.success
        if json {
            try printJSON(report)
            if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
            return
        }
        var lines = [
            "job file \(jobFile): ok (kind \(report.kind))",
            sandbox ? "credentials: not checked (--sandbox)" : "credentials: \(job.credentials.clientIDVariable) and \(job.credentials.clientSecretVariable) are set",
            "manifest \(report.manifest): \(report.rows) rows, \(report.accepted) accepted, \(report.rejected) rejected; a run sends \(report.requests) requests",
        ]
        if let reuse = job.reuse {
            let window = ResetText.duration(reuse.seconds)
            lines.append(
                report.reused.map { "reuse \(window): \($0) rows have an answer from the last \(window) in the state; a new campaign of this manifest sends no request for them (not counted in the requests above)" }
                    ?? "reuse \(window): not counted (the state is on PostgreSQL; add --connect to count the rows a run would reuse)"
            )
        }
        for reject in report.rejects {
            lines.append("  row \(reject.row)\(reject.key.map { $0.isEmpty ? "" : " (key \($0))" } ?? ""): \(reject.reason)")
        }
        if report.rejected > report.rejects.count {
            lines.append("  ... and \(report.rejected - report.rejects.count) more (a run writes them all to rejects.csv)")
        }
        if let check = report.connect {
            for endpoint in check.endpoints {
                let route = endpoint.proxy.map { "via proxy \($0) (from \(endpoint.proxySetting ?? "?"))" } ?? "direct"
                lines.append("\(endpoint.role) endpoint \(endpoint.host): \(route)")
                if let subject = endpoint.certificateSubject {
                    lines.append("  certificate: \(subject), issued by \(endpoint.certificateIssuer ?? "?"), valid until \(endpoint.certificateNotValidAfter ?? "?")")
                }
                if let token = endpoint.token {
                    let quota = endpoint.quotaHeaders.map { $0.isEmpty ? "no quota headers" : $0.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") }
                    lines.append("  token: \(token)\(endpoint.tokenStatus.map { " (HTTP \($0))" } ?? "")\(quota.map { "; \($0)" } ?? "")")
                }
                lines.append("  \(endpoint.ok ? "ok" : "FAILED: \(endpoint.problem ?? "?")")")
            }
            if let state = check.state {
                lines.append("state \(state.location): \(state.ok ? "ok (\(state.detail))" : "FAILED: \(state.detail)")")
            }
        }
        print(lines.joined(separator: "\n"))
        if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
    }
}
