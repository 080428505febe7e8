import ArgumentParser
import Foundation
import Jobs
import Logging
import Sandbox
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

    @Option(help: "Keep the checkpoint state in this SQLite file (default: <output>/state.sqlite).")
    var state: String?

    @Option(help: "Rows in flight at once (1-256).")
    var concurrency: Int?

    @Flag(help: "Start the embedded sandbox on a free loopback port and run against it with its demo credentials.")
    var sandbox = false

    @Flag(help: "Discard the saved state and start over.")
    var restart = false

    @Flag(help: "Put rows that failed permanently back in the queue.")
    var retryFailed = false

    @Flag(help: "Send again the rows whose outcome is unknown (idscan-create: the request may have reached ID Scan).")
    var retryUnknown = false

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
        if let state { job.state = absolutePath(state) }
        if let concurrency { job.concurrency = concurrency }

        var options = RunOptions()
        options.restart = restart
        options.retryFailed = retryFailed
        options.retryUnknown = retryUnknown
        options.limit = limit
        options.metricsFile = metricsFile.map(absolutePath)
        options.progress = noProgress ? .off : isatty(STDERR_FILENO) != 0 && logging.logFormat == .text ? .line : .log
        let control = RunControl()
        let wallClock = WallClock.system(offset: clockOffset)

        let result: RunResult
        if sandbox {
            let embedded = Sandbox(configuration: SandboxConfiguration())
            result = try await withThrowingTaskGroup(of: RunResult?.self) { group in
                let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
                group.addTask {
                    try await embedded.run(host: "127.0.0.1", port: 0) { port in portContinuation.yield(port) }
                    return nil
                }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw failure(code: 70, "The embedded sandbox did not start.", format: logging.logFormat) }
                logger.info("embedded sandbox listening", metadata: ["sandbox.port": "\(port)"])
                let pointed = job.pointing(at: "http://127.0.0.1:\(port)")
                let demo = embedded.configuration
                let credentials = pointed.usesIDScan
                    ? ClientCredentials(id: demo.idscanKeyID, secret: demo.idscanSecret)
                    : ClientCredentials(id: demo.clientID, secret: demo.clientSecret)
                let outcome = await Self.runWithSignals(JobRunner(configuration: pointed, credentials: credentials, options: options, control: control, environment: .live(wallClock: wallClock), logger: logger), control: control)
                group.cancelAll()
                return outcome
            }
        } else {
            let credentials: ClientCredentials
            do {
                credentials = try Credentials.resolve(job.credentials)
            } catch {
                throw failure(error, format: logging.logFormat)
            }
            result = await Self.runWithSignals(JobRunner(configuration: job, credentials: credentials, options: options, control: control, environment: .live(wallClock: wallClock), logger: logger), control: control)
        }
        if let message = result.message { printClosingMessage(message, exitCode: result.exitCode, format: logging.logFormat) }
        if let folder = result.outputFolder { print("Results: \(folder)/results.csv (rejects.csv and summary.json beside it)") }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }

    /// Runs the job while SIGINT and SIGTERM ask it to stop (a second signal exits at once, with 75).
    static func runWithSignals(_ runner: JobRunner, control: RunControl) async -> RunResult {
        await withTaskGroup(of: RunResult?.self) { group in
            group.addTask {
                let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
                var count = 0
                for await signal in signals {
                    count += 1
                    if count > 1 { Glibc.exit(75) }
                    control.requestStop(JobError(.stoppedResumable, "Stopped by \(signal); progress is saved. Run the same command again to resume."))
                }
                return nil
            }
            group.addTask { await runner.run() }
            var result = RunResult?.none
            while let next = await group.next() {
                if let next {
                    result = next
                    group.cancelAll()
                }
            }
            return result!
        }
    }
}
