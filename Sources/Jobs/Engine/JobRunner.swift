import Foundation
import Synchronization
package import Logging

/// Runs one job: opens its store (taking the run's right to it), reads the manifest into it or checks it is
/// unchanged, sends what is pending, and writes the outputs at every exit.
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
    let environment: RunEnvironment
    let logger: Logger

    package init(
        configuration: JobConfiguration,
        credentials: ClientCredentials?,
        options: RunOptions,
        control: RunControl,
        environment: RunEnvironment = .live(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.options = options
        self.control = control
        self.environment = environment
        self.logger = logger
    }

    static let interruptedSendError = "the run stopped while this row's request may have been on its way; check whether ID Scan created it, then run with --retry-unknown to send it again"

    /// Runs the job to its end, or until it must stop, then sends the summary to `notify.url`. Never throws: every
    /// ending is an exit code.
    public func run() async -> RunResult {
        let result = await runToEnd()
        if let notify = configuration.notify {
            await RunNotifier(notify: notify, environment: environment, logger: logger).send(result.summary ?? failureSummary(result))
        }
        return result
    }

    /// What `notify` gets from a run that ended before it wrote summary.json: the kind, the exit code and why.
    private func failureSummary(_ result: RunResult) -> Data {
        var summary: [String: Any] = [
            "kind": configuration.kind.rawValue, "exit_code": Int(result.exitCode), "finished_at": environment.wallClock.iso8601,
            "runner_version": RunnerVersion.current, "sandbox": configuration.isEmbeddedSandbox,
        ]
        summary["stop_reason"] = SecretScrubber.shared.scrub(result.message)
        var data = (try? JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        data.append(0x0A)
        return data
    }

    private func runToEnd() async -> RunResult {
        SecretScrubber.shared.register(credentials)
        var configuration = configuration
        let job: any BatchJob
        do {
            // Before the state is opened and any request is sent: a folder that cannot take the outputs is found now.
            let subfolders = configuration.kind.makeJob(configuration).fileFolders
            configuration.output = try OutputFolder.prepare(configuration.output, subfolders: subfolders, logger: logger).path
            job = configuration.kind.makeJob(configuration)
        } catch {
            return RunResult(failure: ExitTable.jobError(for: error, during: .start))
        }
        let finish = RunFinish(configuration: configuration, environment: environment, logger: logger)
        let store: any CheckpointStore
        do {
            store = try await openStore(configuration)
        } catch {
            return RunResult(failure: ExitTable.jobError(for: error, during: .start))
        }
        let stoppedAt = StopInstant()
        let result = await withTaskGroup(of: Void.self, returning: RunResult.self) { group in
            // The store's background work (a worker's heartbeat) is a child of the run: its error ends the run.
            group.addTask { [control] in
                do {
                    try await store.maintain()
                } catch is CancellationError {
                } catch {
                    control.requestStop(ExitTable.jobError(for: error))
                }
            }
            group.addTask { [control, clock = environment.clock] in
                await control.waitForStop()
                if !Task.isCancelled { stoppedAt.record(clock.now) }
            }
            defer { group.cancelAll() }
            return await work(store: store, job: job, finish: finish, configuration: configuration, stoppedAt: stoppedAt)
        }
        await store.endRun()
        await store.close()
        return result
    }

    /// Everything between opening the store and ending the run: the intake, the sending, the outputs.
    private func work(
        store: any CheckpointStore, job: any BatchJob, finish: RunFinish, configuration: JobConfiguration, stoppedAt: StopInstant
    ) async -> RunResult {
        let manifestSHA256: String
        do {
            manifestSHA256 = try await untilStopped {
                var intake = ManifestIntake(configuration: configuration, job: job)
                intake.wallClock = environment.wallClock
                return try await intake.prepare(store: store, restart: options.restart, logger: logger)
            }
        } catch {
            return RunResult(failure: ExitTable.jobError(for: control.stopReason ?? error, during: .start))
        }

        let statistics = RunStatistics()
        let monitor = RunMonitor(
            progress: RunProgress(kind: configuration.kind.rawValue, job: configuration.jobName),
            display: options.progress, metricsFile: options.metricsFile, statistics: statistics,
            wallClock: environment.wallClock, clock: environment.clock, logger: logger
        )
        for folder in [configuration.output] + job.fileFolders.map({ configuration.output + "/" + $0 }) {
            AtomicFile.removeStaleTemporaryFiles(in: folder)
        }
        do {
            let counts = try await untilStopped { try await prepareWork(store) }
            monitor.start(from: counts)
            if counts.rows == 0 {
                logger.info("the manifest has no data rows; nothing to do")
            } else if counts.pendingWork == 0 {
                logger.info("every row is already finished; no request is sent, the outputs are rewritten")
            } else if options.limit == 0 {
                logger.info("--limit 0: no row is sent")
            } else if !control.isStopping {
                guard let credentials else { throw JobFileError("No credentials were given for this job.") }
                let sending = SendingStage(configuration: configuration, credentials: credentials, options: options, control: control, environment: environment, logger: logger)
                try await sending.run(store: store, job: job, statistics: statistics, monitor: monitor, pendingWork: counts.pendingWork)
            }
        } catch {
            control.requestStop(ExitTable.jobError(for: error))
        }
        // Once the run is asked to stop, it ends within the grace and `state_timeout`, the outputs included: writing
        // a large campaign's results can take longer, and then the files stay as they were (each is replaced whole
        // or not at all) and the next run writes them.
        let bound = options.shutdownGrace + configuration.stateTimeout
        let (control, clock) = (self.control, environment.clock)
        return await withTaskGroup(of: RunResult?.self, returning: RunResult.self) { group in
            group.addTask {
                await finish.write(store: store, job: job, stop: control.stopReason, statistics: statistics, monitor: monitor, manifestSHA256: manifestSHA256)
            }
            group.addTask {
                await control.waitForStop()
                guard !Task.isCancelled, let stopped = stoppedAt.instant else { return nil }
                do { try await clock.sleep(until: stopped.advanced(by: bound)) } catch { return nil }
                let reason = control.stopReason?.message ?? "The run was stopped."
                return RunResult(
                    exitCode: JobError.Code.stoppedResumable.exitCode,
                    message: reason + " The outputs could not be rewritten within the grace and state_timeout after the stop; they are the last run's, and the next run writes them.",
                    outputFolder: nil
                )
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let result = next { return result }
            }
            return RunResult(failure: JobError(.internalError, "The outputs were neither written nor given up."))
        }
    }

    /// Runs `body` until it ends or the run is asked to stop, which cancels it (before the sending, nothing needs a
    /// grace: an intake is one transaction).
    private func untilStopped<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let control = self.control
        return try await withThrowingTaskGroup(of: T?.self, returning: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                await control.waitForStop()
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
                throw control.stopReason ?? CancellationError()
            }
            throw CancellationError()
        }
    }

    /// Opens the state for this run; with `--restart`, a damaged SQLite state is moved aside and a new one made.
    private func openStore(_ configuration: JobConfiguration) async throws -> any CheckpointStore {
        do {
            return try await environment.openStore(configuration, .run)
        } catch StoreError.stateDamaged(let state, let problem) where options.restart {
            let aside = try DamagedState.moveAside(state)
            logger.warning("the state cannot be trusted; it was moved aside and the run starts over", metadata: ["state.problem": "\(problem)", "state.moved_to": "\(aside)"])
            if configuration.kind == .idscanCreate {
                let sent = DamagedState.rowsSent(resultsCSV: configuration.output + "/results.csv").map { "\($0)" } ?? "an unknown number of"
                logger.warning("starting over creates an ID Scan transaction again for every row already sent: the last results.csv lists \(sent) rows sent (ok or unknown); remove them from the manifest first if they must not be created twice")
            }
            return try await environment.openStore(configuration, .run)
        }
    }

    /// Settles what a dead run left behind and requeues what the options ask for; answers the counts to start from.
    private func prepareWork(_ store: any CheckpointStore) async throws -> StateCounts {
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
        return counts
    }
}

/// When the run was asked to stop, on the engine's clock.
final class StopInstant: Sendable {
    private let value = Mutex<EngineClock.Instant?>(nil)

    var instant: EngineClock.Instant? { value.withLock { $0 } }

    func record(_ instant: EngineClock.Instant) {
        value.withLock { $0 = $0 ?? instant }
    }
}
