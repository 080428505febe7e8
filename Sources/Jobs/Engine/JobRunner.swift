import AsyncHTTPClient
import Crypto
import Foundation
package import Logging
import RateLimiter

/// What the command line adds to a job file for one run.
public struct RunOptions: Sendable {
    /// Discard the state and start over (`--restart`).
    public var restart = false
    /// Put permanently failed rows back in the queue (`--retry-failed`).
    public var retryFailed = false
    /// Put rows whose outcome is unknown (a non-idempotent request that may have reached the service) back in
    /// the queue (`--retry-unknown`).
    public var retryUnknown = false
    /// Process at most this many more work items (`--limit`).
    public var limit: Int?
    /// How long in-flight rows may take to finish after SIGINT or SIGTERM.
    public var shutdownGrace: Duration = .seconds(10)
    /// A live line on a terminal, a log line every 30 s, or nothing.
    public var progress = ProgressDisplay.off
    /// Where to keep Prometheus metrics (`--metrics-file`), updated during the run and at exit.
    public var metricsFile: String?

    public init() {}
}

/// How a run ended.
public struct RunResult: Sendable {
    /// The process exit status.
    public var exitCode: Int32
    /// What to tell the user on stderr when the run did not simply succeed.
    public var message: String?
    /// Where the outputs are, when they were written.
    public var outputFolder: String?
}

/// Runs one job: takes the state lock, reads the manifest into the checkpoint store (or checks it is unchanged),
/// sends what is pending through the rate limiter with `concurrency` workers, and writes the outputs.
///
/// ```swift
/// let runner = JobRunner(configuration: job, credentials: credentials, options: RunOptions(), control: RunControl(), logger: logger)
/// let result = await runner.run()
/// exit(result.exitCode)
/// ```
public struct JobRunner: Sendable {
    let configuration: JobConfiguration
    let credentials: ClientCredentials?
    let options: RunOptions
    let control: RunControl
    let wallClock: WallClock
    let logger: Logger

    package init(
        configuration: JobConfiguration,
        credentials: ClientCredentials?,
        options: RunOptions,
        control: RunControl,
        wallClock: WallClock = .system(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.options = options
        self.control = control
        self.wallClock = wallClock
        self.logger = logger
    }

    /// Runs the job to its end, or until it must stop. Never throws: every ending is an exit code.
    public func run() async -> RunResult {
        let clock = ContinuousClock()
        let start = clock.now
        let startedAt = wallClock.iso8601
        let job: any BatchJob
        let lock: RunLock
        let store: any CheckpointStore
        let manifestSHA256: String
        do {
            job = try Self.makeJob(configuration)
            lock = try RunLock(statePath: configuration.statePath)
            do {
                store = try SQLiteCheckpointStore(path: configuration.statePath)
            } catch {
                throw JobError(.ioError, "Cannot open the state database \(configuration.statePath); check that its folder is writable, or move the file away to start over.")
            }
            manifestSHA256 = try await prepareIntake(store: store, job: job)
        } catch let error as JobError {
            return RunResult(exitCode: error.code.exitCode, message: error.message)
        } catch {
            return RunResult(exitCode: JobError.Code.internalError.exitCode, message: "Unexpected error before the run started: \(error)")
        }
        defer { withExtendedLifetime(lock) {} }

        let statistics = RunStatistics()
        let monitor = RunMonitor(
            progress: RunProgress(kind: configuration.kind.rawValue, job: URL(fileURLWithPath: configuration.jobFile).deletingPathExtension().lastPathComponent),
            display: options.progress, metricsFile: options.metricsFile, statistics: statistics, wallClock: wallClock, logger: logger
        )
        for folder in [configuration.output] + job.fileFolders.map({ configuration.output + "/" + $0 }) {
            AtomicFile.removeStaleTemporaryFiles(in: folder)
        }
        do {
            let interrupted = try await store.settleInterruptedSends(error: Self.interruptedSendError)
            if interrupted > 0 {
                logger.warning("rows whose request may have reached the service when the last run died are marked unknown", metadata: ["rows.unknown": "\(interrupted)"])
            }
            if options.retryUnknown {
                let requeued = try await store.requeue([.unknown])
                logger.info("unknown rows put back in the queue", metadata: ["rows.requeued": "\(requeued)"])
            }
            if options.retryFailed {
                let requeued = try await store.requeue([.failed])
                logger.info("failed rows put back in the queue", metadata: ["rows.requeued": "\(requeued)"])
            }
            let counts = try await store.counts()
            logger.info("rows", metadata: ["rows.total": "\(counts.rows)", "rows.rejected": "\(counts.rejected)", "rows.pending": "\(counts.pending)"])
            monitor.start(from: counts)
            if counts.rows == 0 {
                logger.info("the manifest has no data rows; nothing to do")
            } else if counts.pendingWork == 0 {
                logger.info("every row is already finished; no request is sent, the outputs are rewritten")
            } else if options.limit == 0 {
                logger.info("--limit 0: no row is sent")
            } else {
                try await process(store: store, job: job, statistics: statistics, monitor: monitor, pendingWork: counts.pendingWork)
            }
        } catch let error as JobError {
            control.requestStop(error)
        } catch {
            control.requestStop(JobError(.internalError, "Unexpected error during the run: \(error)"))
        }

        // Outputs are written at every exit from here on, even a stopped one.
        do {
            let counts = try await store.counts()
            let stop = control.stopReason
            let exitCode = stop?.code.exitCode ?? (counts.failed + counts.unknown > 0 ? ExitStatus.someRowsFailed : ExitStatus.success)
            let tally = statistics.snapshot
            let summary = RunSummary(
                kind: configuration.kind.rawValue,
                rows: counts.rows,
                accepted: counts.accepted,
                rejected: counts.rejected,
                succeeded: counts.succeeded,
                failed: counts.failed,
                pending: counts.pending,
                unknown: counts.unknown,
                requests: tally.requests,
                throttled: tally.throttled,
                retries: tally.retries,
                durationSeconds: (start.duration(to: clock.now).seconds * 1000).rounded() / 1000,
                exitCode: exitCode,
                stopReason: stop?.message,
                apiVersion: tally.apiVersion,
                sunset: tally.sunset,
                startedAt: startedAt,
                finishedAt: wallClock.iso8601,
                manifestSHA256: manifestSHA256
            )
            let exporter = OutputExporter(store: store, job: job, outputFolder: configuration.output)
            try await exporter.writeAll(summary: summary)
            logger.info(
                "run finished",
                metadata: [
                    "rows.total": "\(counts.rows)", "rows.succeeded": "\(counts.succeeded)",
                    "rows.failed": "\(counts.failed)", "rows.rejected": "\(counts.rejected)",
                    "rows.pending": "\(counts.pending)", "http.requests": "\(tally.requests)",
                    "http.throttled": "\(tally.throttled)", "exit_code": "\(exitCode)",
                ]
            )
            monitor.finish(exitCode: exitCode, counts: counts)
            var message = stop?.message
            if stop == nil, exitCode == ExitStatus.someRowsFailed {
                message = "\(counts.failed + counts.unknown) of \(counts.accepted) rows did not succeed; see the error column of \(configuration.output)/results.csv."
            }
            return RunResult(exitCode: exitCode, message: message, outputFolder: configuration.output)
        } catch let error as JobError {
            return RunResult(exitCode: error.code.exitCode, message: error.message)
        } catch {
            return RunResult(exitCode: JobError.Code.ioError.exitCode, message: "Cannot write the outputs to \(configuration.output): \(error)")
        }
    }

    static func makeJob(_ configuration: JobConfiguration) throws(JobError) -> any BatchJob {
        switch configuration.kind {
        case .numberVerify:
            return NumberVerifyJob(configuration: configuration)
        case .pimQR:
            return PimQRJob(configuration: configuration)
        case .idscanReports:
            return IDScanReportsJob(configuration: configuration)
        case .idscanCreate:
            return IDScanCreateJob(configuration: configuration)
        }
    }

    static let interruptedSendError = "the run stopped while this row's request may have been on its way; check whether ID Scan created it, then run with --retry-unknown to send it again"

    // MARK: Intake

    /// Reads the manifest into a new state, or checks that the state was made from this very manifest and job.
    /// Answers the manifest's SHA-256.
    private func prepareIntake(store: any CheckpointStore, job: any BatchJob) async throws -> String {
        let reader = ManifestReader(path: configuration.manifest, delimiter: configuration.delimiter)
        if !options.restart, let signature = try await store.intakeSignature() {
            let sha256 = try reader.sha256()
            guard sha256 == signature.manifestSHA256 else {
                throw JobError(.manifestUnusable, "Manifest \(configuration.manifest) changed since the state \(configuration.statePath) was made from it. Restore the original file to resume, or run with --restart to start over with this one (the earlier progress is discarded).")
            }
            guard signature.job == job.intakeSettings else {
                throw JobError(.manifestUnusable, "The job's kind or column settings changed since the state \(configuration.statePath) was made. Undo the change to resume, or run with --restart to start over.")
            }
            logger.info("resuming from the saved state")
            return sha256
        }
        let sha256 = try await Self.readManifest(configuration, job: job, into: store)
        let rows = try await store.counts().rows
        logger.info("manifest read", metadata: ["rows.total": "\(rows)"])
        return sha256
    }

    /// Reads the whole manifest into `store` as a fresh intake, through `job`'s row reader; answers its SHA-256.
    static func readManifest(_ configuration: JobConfiguration, job: any BatchJob, into store: any CheckpointStore) async throws -> String {
        let reader = ManifestReader(path: configuration.manifest, delimiter: configuration.delimiter)
        let manifestPath = configuration.manifest
        let intakeSettings = job.intakeSettings
        try await store.replaceIntake(duplicateReason: job.duplicateReason) { emit in
            var header: [String] = []
            var rowReader: RowReader?
            let scan = try reader.read(
                onHeader: { names in
                    header = names
                    rowReader = try job.rowReader(header: ManifestHeader(names: names, manifestPath: manifestPath))
                },
                onRow: { row, record in
                    let intakeRow: IntakeRow
                    switch CellDecoder.decode(record, header: header, keyColumn: rowReader!.keyColumn) {
                    case .success(let cells): intakeRow = rowReader!.read(row, cells)
                    case .failure(let problem): intakeRow = IntakeRow(row: row, key: problem.key, value: problem.value, rejectReason: problem.reason)
                    }
                    try emit(intakeRow)
                }
            )
            return IntakeSignature(manifestSHA256: scan.sha256, job: intakeSettings)
        }
        // The store keeps what the intake was made from; no counter of our own beside it.
        guard let signature = try await store.intakeSignature() else {
            throw JobError(.internalError, "The intake was written but its signature is missing from the state.")
        }
        return signature.manifestSHA256
    }

    // MARK: Processing

    private func process(store: any CheckpointStore, job: any BatchJob, statistics: RunStatistics, monitor: RunMonitor, pendingWork: Int) async throws {
        guard let credentials else {
            throw JobError(.configuration, "No credentials were given for this job.")
        }
        let limiter = RateLimiter(configuration: configuration.quota, clock: ContinuousClock())
        let limiterKey = Self.limiterKey(base: configuration.endpoints.base, clientID: credentials.id)
        if let stored = try await store.quota(for: limiterKey), let resetIn = stored.resetIn(atLocal: wallClock.epochSeconds) {
            if resetIn > 0 {
                limiter.restore(limit: stored.limit, used: stored.used, resetIn: .seconds(resetIn), window: stored.windowSeconds.map { .seconds($0) })
                logger.info("quota state restored", metadata: ["quota.limit": "\(stored.limit)", "quota.used": "\(stored.used)", "quota.reset_in_s": "\(Int(resetIn))"])
            }
        }
        limiter.setBacklog(pendingWork)
        monitor.attach(limiter)

        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPTransport.clientConfiguration(concurrency: configuration.concurrency, timeout: configuration.http.timeout)
        )
        let transport = HTTPTransport(http: http, timeout: configuration.http.timeout, maxBodyBytes: configuration.http.maxBodyBytes, statistics: statistics, logger: logger)
        let client = APIClient(
            transport: transport,
            limiter: limiter,
            tokens: job.makeTokenProvider(transport: transport, credentials: credentials, wallClock: wallClock),
            configuration: configuration,
            statistics: statistics,
            wallClock: wallClock,
            logger: logger
        )
        let wallClock = self.wallClock
        let quotaState: @Sendable () -> StoredQuota? = {
            Self.storedQuota(limiter.snapshot, key: limiterKey, statistics: statistics, wallClock: wallClock)
        }
        let queue = WorkQueue(store: store, limit: options.limit)
        let committer = GroupCommitter(store: store, quota: quotaState)
        let backlog = BacklogCounter(pendingWork)
        logger.info("sending", metadata: ["work.pending": "\(pendingWork)", "concurrency": "\(configuration.concurrency)"])

        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await monitor.report() }
                defer { group.cancelAll() }
                try await runWorkers(job: job, client: client, journal: SendJournal(store: store), monitor: monitor, queue: queue, committer: committer, limiter: limiter, backlog: backlog)
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        if let quota = quotaState() { try await store.saveQuota(quota) }
        try await http.shutdown()
    }

    /// `concurrency` workers take rows until none is left or the run must stop; after a stop request, rows in
    /// flight get `shutdownGrace` to finish before they are cancelled (and stay pending).
    private func runWorkers(
        job: any BatchJob,
        client: APIClient,
        journal: SendJournal,
        monitor: RunMonitor,
        queue: WorkQueue,
        committer: GroupCommitter,
        limiter: RateLimiter<ContinuousClock>,
        backlog: BacklogCounter
    ) async throws {
        let control = self.control
        let logger = self.logger
        let grace = options.shutdownGrace
        let concurrency = configuration.concurrency
        try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask {
                try await withThrowingTaskGroup(of: Void.self) { workers in
                    for _ in 0..<concurrency {
                        workers.addTask {
                            while !control.isStopping, let item = try await queue.next() {
                                let completion: WorkCompletion
                                do {
                                    completion = try await job.perform(item, client: client, journal: journal)
                                } catch let error as JobError {
                                    control.requestStop(error)
                                    return
                                }
                                try await committer.commit(completion)
                                limiter.setBacklog(backlog.decrement())
                                monitor.record(completion.state)
                                logger.trace(
                                    "row finished",
                                    metadata: ["work.value": "\(maskedForLog(item.value))", "work.state": "\(completion.state)", "work.attempts": "\(completion.attempts)"]
                                )
                            }
                        }
                    }
                    try await workers.waitForAll()
                }
            }
            outer.addTask {
                await control.waitForStop()
                try await Task.sleep(for: grace)
            }
            _ = try await outer.next()
            outer.cancelAll()
        }
    }

    static func limiterKey(base: String, clientID: String) -> String {
        let host = URLComponents(string: base).map { "\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" } ?? base
        let digest = SHA256.hash(data: Data(clientID.utf8)).hexString.prefix(16)
        return "\(host)|\(digest)"
    }

    static func storedQuota(_ snapshot: QuotaSnapshot, key: String, statistics: RunStatistics, wallClock: WallClock) -> StoredQuota? {
        guard let limit = snapshot.limit else { return nil }
        let offset = statistics.snapshot.serverClockOffset
        let serverNow = wallClock.epochSeconds + offset
        return StoredQuota(
            limiter: key,
            limit: limit,
            used: snapshot.used,
            windowSeconds: snapshot.window?.seconds,
            resetEpochSeconds: snapshot.resetIn.map { serverNow + $0.seconds },
            serverClockOffset: offset
        )
    }
}
