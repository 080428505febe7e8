import Foundation
import Prometheus
import RateLimiter

/// A moment of a run, as the progress line, the progress log and the metrics file show it. The row counts
/// (`rows`, `succeeded`, `pending`, ...) are the store's ``StateCounts``, read through as if they were its own.
@dynamicMemberLookup
package struct RunProgress: Sendable, Equatable {
    package var kind: String
    /// The job file's name without extension: the metrics' `job` label.
    package var job: String
    package var counts = StateCounts()
    /// Rows finished by this invocation.
    package var finishedThisRun = 0
    package var requests = 0
    package var throttled = 0
    package var retries = 0
    package var quotaLimit: Int?
    package var quotaUsed = 0
    package var quotaResetInSeconds: Double?
    /// The quota window's length, when known.
    package var quotaWindowSeconds: Double?
    /// Without quota headers: the rate learned from the gateway's 429s (requests a second), and its window.
    package var learnedRate: Double?
    package var learnedWindowSeconds: Double?
    package var elapsedSeconds = 0.0
    /// Epoch seconds of the last row that succeeded, when one did.
    package var lastSuccessEpochSeconds: Double?
    package var exitCode: Int?

    package init(kind: String, job: String) {
        self.kind = kind
        self.job = job
    }

    package subscript(dynamicMember keyPath: WritableKeyPath<StateCounts, Int>) -> Int {
        get { counts[keyPath: keyPath] }
        set { counts[keyPath: keyPath] = newValue }
    }

    /// Takes the row counts from the store.
    package mutating func apply(_ counts: StateCounts) {
        self.counts = counts
    }

    package var accepted: Int { counts.rows - counts.rejected }
    package var done: Int { accepted - counts.pending }

    /// Rows per second this invocation.
    package var rate: Double { elapsedSeconds > 0 ? Double(finishedThisRun) / elapsedSeconds : 0 }

    /// Seconds until the rows left are done: at this run's rate, or, when the quota bounds the run (more items left
    /// than the window has quota), through the resets it must wait for: the rest of this window, whole windows, then
    /// the last items at the rate. Nil when nothing is left or nothing tells yet.
    package var etaSeconds: Double? {
        guard counts.pending > 0 else { return nil }
        let atRate = rate > 0 ? Double(counts.pending) / rate : nil
        guard let limit = quotaLimit, limit > 0, let window = quotaWindowSeconds, window > 0, let resetIn = quotaResetInSeconds else {
            return atRate
        }
        let left = max(limit - quotaUsed, 0)
        let items = max(counts.pendingWork, 1)
        guard items > left else { return atRate }
        let beyond = items - left
        let wholeWindows = (beyond - 1) / limit
        let lastItems = beyond - wholeWindows * limit
        let throughResets = resetIn + Double(wholeWindows) * window + (rate > 0 ? Double(lastItems) / rate : 0)
        return max(throughResets, atRate ?? 0)
    }

    /// The progress line for a terminal: `1,234/10,000 rows (12%) · 85 rows/s · ETA 1m43s · quota 480/600, resets in
    /// 42s · 3 failed`.
    package var line: String {
        let percent = accepted > 0 ? done * 100 / accepted : 100
        var parts = ["\(done.grouped)/\(accepted.grouped) rows (\(percent)%)"]
        parts.append(String(format: "%.1f rows/s", rate))
        if let etaSeconds { parts.append("ETA \(Self.duration(etaSeconds))") }
        if let quotaLimit {
            let reset = quotaResetInSeconds.map { ", resets in \(Self.duration($0))" } ?? ""
            parts.append("quota \(max(quotaLimit - quotaUsed, 0)) of \(quotaLimit) left\(reset)")
        } else if let learnedRate {
            let window = learnedWindowSeconds.map { " over \(Self.duration($0))" } ?? ""
            parts.append(String(format: "learned %.1f/s", learnedRate) + window)
        }
        if counts.failed + counts.unknown > 0 { parts.append("\(counts.failed + counts.unknown) failed") }
        return parts.joined(separator: " · ")
    }

    /// `1h02m`, `3m05s`, `42s`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        if total >= 3_600 { return String(format: "%dh%02dm", total / 3_600, total % 3_600 / 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return "\(total)s"
    }

    /// The Prometheus text format (node_exporter's textfile collector reads it).
    package var metrics: String {
        let registry = PrometheusCollectorRegistry()
        let labels = [("job", job), ("kind", kind)]
        func gauge(_ name: String, _ help: String, _ value: Double, labels extra: [(String, String)] = []) {
            registry.makeGauge(name: "batch_runner_" + name, labels: labels + extra, help: help).set(value)
        }
        func counter(_ name: String, _ help: String, _ value: Int) {
            registry.makeCounter(name: "batch_runner_" + name, labels: labels, help: help).increment(by: Int64(value))
        }
        let states = [
            ("succeeded", counts.succeeded), ("failed", counts.failed), ("unknown", counts.unknown), ("not_found", counts.notFound),
            ("pending", counts.pending), ("rejected", counts.rejected),
        ]
        for (state, count) in states {
            gauge("rows", "Rows of the job by state, across resumes.", Double(count), labels: [("state", state)])
        }
        counter("requests_total", "HTTP requests sent by this run, token requests included.", requests)
        counter("throttled_total", "Rate-limit answers received by this run.", throttled)
        counter("retries_total", "Requests sent again by this run.", retries)
        gauge("quota_used", "Calls counted in the current quota window, in flight included.", Double(quotaUsed))
        if let quotaLimit { gauge("quota_limit", "Calls allowed per quota window.", Double(quotaLimit)) }
        gauge("duration_seconds", "Time this run has taken so far.", elapsedSeconds)
        if let lastSuccessEpochSeconds {
            gauge("last_success_timestamp_seconds", "When a row last succeeded (Unix time).", lastSuccessEpochSeconds)
        }
        if let exitCode { gauge("exit_code", "The run's exit status (75: stopped, resumable).", Double(exitCode)) }
        var text: [UInt8] = []
        registry.emit(into: &text)
        return String(decoding: text, as: UTF8.self)
    }
}

extension Int {
    /// `12345` as `12,345`.
    fileprivate var grouped: String {
        let digits = Array(String(self))
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }
}
