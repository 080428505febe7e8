import Foundation
import Logging
import RateLimiter

/// Ends a run: writes results.csv, rejects.csv, the job's own files and summary.json from the store, at every
/// exit (a stopped run's too), and answers the exit code and the closing message.
struct RunFinish {
    let configuration: JobConfiguration
    let environment: RunEnvironment
    let logger: Logger
    private let start: EngineClock.Instant
    private let startedAt: String

    init(configuration: JobConfiguration, environment: RunEnvironment, logger: Logger) {
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
        self.start = environment.clock.now
        self.startedAt = environment.wallClock.iso8601
    }

    func write(
        store: any CheckpointStore,
        job: any BatchJob,
        stop: JobError?,
        statistics: RunStatistics,
        monitor: RunMonitor,
        manifestSHA256: String
    ) async -> RunResult {
        do {
            let counts = try await store.counts()
            let exitCode = stop?.code.exitCode ?? (counts.failed + counts.unknown > 0 ? ExitStatus.someRowsFailed : ExitStatus.success)
            let tally = statistics.snapshot
            var summary = RunSummary(
                kind: configuration.kind.rawValue, counts: counts, requests: tally.requests, throttled: tally.throttled, retries: tally.retries,
                durationSeconds: (start.duration(to: environment.clock.now).seconds * 1000).rounded() / 1000,
                exitCode: exitCode, stopReason: SecretScrubber.shared.scrub(stop?.message), apiVersion: tally.apiVersion, sunset: tally.sunset,
                startedAt: startedAt, finishedAt: environment.wallClock.iso8601, manifestSHA256: manifestSHA256
            )
            summary.record(configuration.provenance(rowSettings: job.intakeSettings))
            try await OutputExporter(store: store, job: job, outputFolder: configuration.output, formulas: configuration.csvFormulas).writeAll(summary: summary)
            let summaryBytes = try summary.jsonData()
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
            var result = RunResult(exitCode: exitCode, message: message, outputFolder: configuration.output)
            result.summary = summaryBytes
            return result
        } catch {
            return RunResult(failure: ExitTable.jobError(for: error, during: .outputs(folder: configuration.output)))
        }
    }
}
