import ArgumentParser
import Foundation
import Jobs
import Logging
import Sandbox
import ServiceLifecycle
import UnixSignals

/// `batch-runner run JOB.yml`: runs (or resumes) a job.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job, or resume it where it stopped.",
        discussion: """
            Example:
              batch-runner run jobs/number-verify.yml --sandbox
            Running the same command again after a kill, a signal or a quota stop (exit 75) resumes: finished
            rows are not sent again.
            """
    )

    @Argument(help: "The job file (YAML).")
    var jobFile: String

    @Option(help: "Read this manifest instead of the job file's.")
    var manifest: String?

    @Option(help: "Write the outputs to this folder instead of the job file's.")
    var output: String?

    @Option(help: "Keep the checkpoint state in this SQLite file, or a postgresql:// URL (default: <output>/state.sqlite).")
    var state: String?

    @Option(help: "Rows in flight at once (1-256).")
    var concurrency: Int?

    @Flag(help: "Start the embedded sandbox on a free loopback port and run against it with its demo credentials.")
    var sandbox = false

    @Flag(help: "Discard the saved state (a PostgreSQL campaign: only this campaign, refused while live workers hold it) and start over.")
    var restart = false

    @Flag(help: "Put rows that failed permanently back in the queue.")
    var retryFailed = false

    @Flag(help: "Send again the rows whose outcome is unknown (idscan-create: the request may have reached ID Scan).")
    var retryUnknown = false

    @Flag(help: "Do not wait for the quota stop an earlier run saved: the first answer's quota headers decide (when the service's quota changed since).")
    var ignoreSavedQuota = false

    @Option(help: "Process at most this many more rows (sampling a campaign before the full run).")
    var limit: Int?

    @Option(help: "Keep Prometheus metrics in this file (node_exporter's textfile format), updated during the run and at exit.")
    var metricsFile: String?

    @Flag(help: "Show no progress (default: a live line on a terminal, a log line every 30 s otherwise).")
    var noProgress = false

    @OptionGroup var logging: LoggingOptions

    @Option(help: .hidden)
    var clockOffset: Double = 0

    func validate() throws {
        if let concurrency, !(1...256).contains(concurrency) {
            throw ValidationError("--concurrency must be from 1 to 256.")
        }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more.") }
    }

    /// What the flags add to the job file.
    var runOptions: RunOptions {
        var options = RunOptions()
        options.restart = restart
        options.retryFailed = retryFailed
        options.retryUnknown = retryUnknown
        options.ignoreSavedQuota = ignoreSavedQuota
        options.limit = limit
        options.metricsFile = metricsFile.map(absolutePath)
        options.progress = noProgress ? .off : isatty(STDERR_FILENO) != 0 && logging.logFormat == .text ? .line : .log
        return options
    }

    func run() async throws {
        umask(0o077)
        let logger = logging.bootstrap()
        var job: JobConfiguration
        do {
            job = try JobFile.load(path: jobFile)
        } catch {
            throw failure(error, format: logging.logFormat)
        }
        if let manifest { job.manifest = absolutePath(manifest) }
        if let output { job.output = absolutePath(output) }
        if let state { job.state = absoluteState(state) }
        if let concurrency { job.concurrency = concurrency }

        let options = runOptions
        let control = RunControl()

        let credentials: ClientCredentials?
        let network: NetworkSettings
        do {
            credentials = sandbox ? nil : try Credentials.resolve(job.credentials)
            // The embedded sandbox is in this process, on loopback and plain HTTP: no proxy or CA applies.
            network = sandbox ? NetworkSettings() : try NetworkSettings.resolve(job.http, environment: ProcessInfo.processInfo.environment)
            SecretScrubber.shared.register(network)
        } catch {
            throw failure(error, format: logging.logFormat)
        }
        let environment = RunEnvironment.live(wallClock: WallClock.system(offset: clockOffset), network: network)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // What the run talks to: the job file's endpoints, or the embedded sandbox once it listens.
        let target: @Sendable () async throws -> (JobConfiguration, ClientCredentials?)
        if sandbox {
            let embedded = Sandbox(configuration: SandboxConfiguration())
            let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
            services.append(.init(service: try embedded.service(host: "127.0.0.1", port: 0) { port in portContinuation.yield(port) }))
            target = { [job] in
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw JobError(.internalError, "The embedded sandbox did not start.") }
                logger.info("embedded sandbox listening", metadata: ["sandbox.port": "\(port)"])
                var pointed = job.pointing(at: "http://127.0.0.1:\(port)")
                pointed.isEmbeddedSandbox = true
                let demo = embedded.configuration
                let credentials = pointed.usesIDScan
                    ? ClientCredentials(id: demo.idscanKeyID, secret: demo.idscanSecret)
                    : ClientCredentials(id: demo.clientID, secret: demo.clientSecret)
                return (pointed, credentials)
            }
        } else {
            target = { [job] in (job, credentials) }
        }
        let service = JobService {
            let (configuration, credentials) = try await target()
            return JobRunner(configuration: configuration, credentials: credentials, options: options, control: control, environment: environment, logger: logger)
        }
        // The job is last: once it ends, the group shuts the others down in reverse order.
        services.append(.init(service: SignalStop(control: control)))
        services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup))
        var groupLogger = logger
        groupLogger.logLevel = max(logger.logLevel, .info)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                // Signals are SignalStop's: the run names the one it got, and a second one exits at once.
                services: services, gracefulShutdownSignals: [], cancellationSignals: [],
                logger: groupLogger
            )
        )
        do {
            try await group.run()
        } catch {
            throw failure(error, format: logging.logFormat)
        }
        guard let result = service.result else {
            throw failure(code: 75, "Stopped before the run could finish; progress is saved. Run the same command again to resume.", format: logging.logFormat)
        }
        if let message = result.message { printClosingMessage(message, exitCode: result.exitCode, format: logging.logFormat) }
        if let folder = result.outputFolder { print("Results: \(folder)/results.csv (rejects.csv and summary.json beside it)") }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}
