import Foundation
package import Logging
package import RateLimiter
import Synchronization

/// How a run shows its progress.
public enum ProgressDisplay: Sendable {
    /// A live line on a terminal (stderr), redrawn every second.
    case line
    /// A structured log line every 30 seconds (cron, CI).
    case log
    case off
}

/// Watches a run: counts rows as they finish, and shows the progress line or the progress log, and writes the
/// metrics file, on their own schedules.
package final class RunMonitor: Sendable {
    private struct State {
        var progress: RunProgress
        var limiter: RateLimiter<EngineClock>?
        var hasLine = false
    }

    private let state: Mutex<State>
    private let display: ProgressDisplay
    private let metricsFile: String?
    private let statistics: RunStatistics
    private let wallClock: WallClock
    private let logger: Logger
    private let clock: EngineClock
    private let start: EngineClock.Instant

    package init(
        progress: RunProgress,
        display: ProgressDisplay,
        metricsFile: String?,
        statistics: RunStatistics,
        wallClock: WallClock,
        clock: EngineClock,
        logger: Logger
    ) {
        self.clock = clock
        self.start = clock.now
        self.state = Mutex(State(progress: progress))
        self.display = display
        self.metricsFile = metricsFile
        self.statistics = statistics
        self.wallClock = wallClock
        self.logger = logger
    }

    /// Starts counting from the store's row counts.
    package func start(from counts: StateCounts) {
        state.withLock { $0.progress.apply(counts) }
    }

    /// Reads the quota from `limiter` from now on.
    package func attach(_ limiter: RateLimiter<EngineClock>) {
        state.withLock { $0.limiter = limiter }
    }

    /// Counts a finished row.
    package func record(_ completion: WorkState) {
        let now = wallClock.epochSeconds
        state.withLock { state in
            state.progress.pending -= 1
            state.progress.finishedThisRun += 1
            switch completion {
            case .succeeded:
                state.progress.succeeded += 1
                state.progress.lastSuccessEpochSeconds = now
            case .failed: state.progress.failed += 1
            case .notFound: state.progress.notFound += 1
            default: state.progress.unknown += 1
            }
        }
    }

    /// The run as it stands.
    package var snapshot: RunProgress {
        let tally = statistics.snapshot
        return state.withLock { state in
            var progress = state.progress
            progress.requests = tally.requests
            progress.throttled = tally.throttled
            progress.retries = tally.retries
            progress.elapsedSeconds = start.duration(to: clock.now).seconds
            if let quota = state.limiter?.snapshot {
                progress.quotaLimit = quota.limit
                progress.quotaUsed = quota.used
                progress.quotaResetInSeconds = quota.resetIn?.seconds
                progress.quotaWindowSeconds = quota.window?.seconds
                (progress.learnedRate, progress.learnedWindowSeconds) = (quota.learnedRate, quota.learnedWindow?.seconds)
            }
            return progress
        }
    }

    /// Shows progress and writes metrics until cancelled. With `campaign` (a store several workers share), the
    /// row counts are read from it every 5 s, so the progress is the campaign's, not this worker's alone.
    package func report(campaign: (any CheckpointStore)? = nil) async {
        let tick: Duration = display == .line ? .seconds(1) : .seconds(5)
        var sinceLog = Duration.zero
        var sinceCounts = Duration.zero
        while !Task.isCancelled {
            do { try await clock.sleep(for: tick) } catch { return }
            sinceLog += tick
            sinceCounts += tick
            if let campaign, sinceCounts >= .seconds(5), let counts = try? await campaign.counts() {
                sinceCounts = .zero
                state.withLock { $0.progress.apply(counts) }
            }
            let progress = snapshot
            switch display {
            case .line:
                FileHandle.standardError.write(Data(("\r\u{1B}[K" + progress.line).utf8))
                state.withLock { $0.hasLine = true }
            case .log where sinceLog >= .seconds(30):
                sinceLog = .zero
                logger.info("progress", metadata: Self.metadata(progress))
            case .log, .off:
                break
            }
            writeMetrics(progress)
        }
    }

    /// Ends the progress line and writes the final metrics, with the exit code.
    package func finish(exitCode: Int32, counts: StateCounts?) {
        var progress = snapshot
        progress.exitCode = Int(exitCode)
        if let counts { progress.apply(counts) }
        if state.withLock({ $0.hasLine }) {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + progress.line + "\n").utf8))
        }
        writeMetrics(progress)
    }

    private func writeMetrics(_ progress: RunProgress) {
        guard let metricsFile else { return }
        do {
            try AtomicFile.write(path: metricsFile, bytes: Array(progress.metrics.utf8))
            // Metrics hold no personal data, and the collector (node_exporter) runs as another user.
            chmod(metricsFile, 0o644)
        } catch {
            logger.warning("cannot write the metrics file", metadata: ["metrics.file": "\(metricsFile)", "error": "\(error)"])
        }
    }

    private static func metadata(_ progress: RunProgress) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "rows.done": "\(progress.done)", "rows.total": "\(progress.accepted)", "rows.failed": "\(progress.failed + progress.unknown)",
            "rows.per_second": "\(String(format: "%.1f", progress.rate))", "http.requests": "\(progress.requests)",
            "http.throttled": "\(progress.throttled)",
        ]
        if let eta = progress.etaSeconds { metadata["eta_s"] = "\(Int(eta.rounded()))" }
        if let limit = progress.quotaLimit { metadata["quota.left"] = "\(max(limit - progress.quotaUsed, 0))" }
        if let reset = progress.quotaResetInSeconds { metadata["quota.reset_in_s"] = "\(Int(reset.rounded(.up)))" }
        return metadata
    }
}
