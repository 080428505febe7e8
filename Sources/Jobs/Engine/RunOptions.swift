package import Foundation

/// What the command line adds to a job file for one run.
public struct RunOptions: Sendable {
    /// Discard the state and start over (`--restart`).
    public var restart = false
    /// Put permanently failed rows back in the queue (`--retry-failed`).
    public var retryFailed = false
    /// Put rows whose outcome is unknown (a non-idempotent request that may have reached the service) back in
    /// the queue (`--retry-unknown`).
    public var retryUnknown = false
    /// Do not restore the quota window an earlier run saved (`--ignore-saved-quota`): the first answer's quota
    /// headers decide, for when the service's quota changed since. A learned rate is still restored.
    public var ignoreSavedQuota = false
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
    /// The summary.json this run wrote, byte for byte (what `notify` sends); nil when it wrote none.
    package var summary: Data?

    public init(exitCode: Int32, message: String?, outputFolder: String?) {
        self.exitCode = exitCode
        self.message = message
        self.outputFolder = outputFolder
    }
}
