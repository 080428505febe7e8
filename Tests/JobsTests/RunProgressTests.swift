import Foundation
import Testing

@testable import Jobs

/// The progress line and the metrics file, rendered from one moment of a run.
@Suite struct RunProgressTests {
    var progress: RunProgress {
        var progress = RunProgress(kind: "number-verify", job: "nightly")
        (progress.rows, progress.rejected, progress.succeeded, progress.failed, progress.unknown, progress.pending) = (10_500, 500, 1_200, 30, 4, 8_766)
        progress.finishedThisRun = 1_234
        progress.elapsedSeconds = 20
        (progress.requests, progress.throttled, progress.retries) = (1_300, 2, 66)
        (progress.quotaLimit, progress.quotaUsed, progress.quotaResetInSeconds) = (600, 480, 41.2)
        progress.lastSuccessEpochSeconds = 1_763_917_200
        return progress
    }

    @Test func theLineShowsRowsRateETAQuotaAndFailures() {
        #expect(progress.line == "1,234/10,000 rows (12%) · 61.7 rows/s · ETA 2m23s · quota 120 of 600 left, resets in 42s · 34 failed")
    }

    /// When the quota bounds the run, the ETA counts the resets it must wait for: here 8,766 items left, 120 in
    /// this window (resets in 41.2 s), then 14 whole windows of 600 (10 min each) and 246 items at 61.7 rows/s.
    @Test func theETACountsTheQuotaWindowsTheRowsLeftNeed() throws {
        var bound = progress
        bound.pendingWork = 8_766
        bound.quotaWindowSeconds = 600
        let eta = try #require(bound.etaSeconds)
        #expect(abs(eta - (41.2 + 14 * 600 + 246 / (1_234.0 / 20))) < 0.01)
        #expect(bound.line.contains("ETA 2h20m"), "\(bound.line)")
        var unbound = bound
        unbound.pendingWork = 100
        #expect(unbound.etaSeconds == Double(8_766) / (1_234.0 / 20), "the rate bounds a run the window's quota covers")
    }

    @Test func theLineLeavesOutWhatIsNotKnown() {
        var progress = RunProgress(kind: "pim-qr", job: "qr")
        (progress.rows, progress.pending) = (3, 3)
        #expect(progress.line == "0/3 rows (0%) · 0.0 rows/s")
    }

    @Test func withoutQuotaHeadersTheLineShowsTheLearnedRate() {
        var progress = RunProgress(kind: "number-verify", job: "nv")
        (progress.rows, progress.pending) = (3, 3)
        (progress.learnedRate, progress.learnedWindowSeconds) = (3.94, 10)
        #expect(progress.line == "0/3 rows (0%) · 0.0 rows/s · learned 3.9/s over 10s")
    }

    @Test(arguments: [(42.0, "42s"), (185.0, "3m05s"), (3_720.0, "1h02m"), (0.2, "1s")])
    func durationsReadLikeAClock(seconds: Double, text: String) {
        #expect(RunProgress.duration(seconds) == text)
    }

    @Test func metricsAreValidPrometheusTextWithEveryFigure() throws {
        var progress = self.progress
        progress.exitCode = 75
        let text = progress.metrics
        var samples: [String: Double] = [:]
        var described = Set<String>()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4 && ["gauge", "counter"].contains(parts[3]))
                described.insert(String(parts[2]))
                continue
            }
            if line.hasPrefix("# HELP ") { continue }
            let match = try #require(line.wholeMatch(of: /(batch_runner_[a-z_]+)\{([^}]*)\} (-?[0-9.]+)/), "\(line)")
            #expect(described.contains(String(match.1)), "TYPE before samples")
            #expect(match.2.hasPrefix("job=\"nightly\",kind=\"number-verify\""))
            samples[String(match.1) + (match.2.contains("state=") ? ":" + String(match.2.split(separator: "\"").last ?? "") : "")] = Double(match.3)
        }
        #expect(samples["batch_runner_rows:succeeded"] == 1_200)
        #expect(samples["batch_runner_rows:failed"] == 30)
        #expect(samples["batch_runner_rows:unknown"] == 4)
        #expect(samples["batch_runner_rows:pending"] == 8_766)
        #expect(samples["batch_runner_rows:rejected"] == 500)
        #expect(samples["batch_runner_requests_total"] == 1_300)
        #expect(samples["batch_runner_throttled_total"] == 2)
        #expect(samples["batch_runner_retries_total"] == 66)
        #expect(samples["batch_runner_quota_used"] == 480 && samples["batch_runner_quota_limit"] == 600)
        #expect(samples["batch_runner_duration_seconds"] == 20)
        #expect(samples["batch_runner_last_success_timestamp_seconds"] == 1_763_917_200)
        #expect(samples["batch_runner_exit_code"] == 75)
        #expect(text.hasSuffix("\n"))
    }
}
