import Foundation

/// What `batch-runner status` shows: where a job stands, read from its state without changing it.
public struct JobStatus: Sendable, Codable {
    public struct Quota: Sendable, Codable {
        public var limiter: String
        public var limit: Int
        public var used: Int
        public var windowSeconds: Double?
        /// The window's reset, ISO-8601 UTC, when known.
        public var resetsAt: String?
        /// Seconds from now until the reset (0 once it passed).
        public var resetsInSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case limiter, limit, used
            case windowSeconds = "window_seconds"
            case resetsAt = "resets_at"
            case resetsInSeconds = "resets_in_seconds"
        }
    }

    /// Without quota headers: the rate a limiter learned from the gateway's 429s, with its window.
    public struct LearnedRate: Sendable, Codable {
        public var limiter: String
        public var ratePerSecond: Double
        public var windowSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case limiter
            case ratePerSecond = "rate_per_second"
            case windowSeconds = "window_seconds"
        }
    }

    /// A worker of a shared (PostgreSQL) campaign.
    public struct Worker: Sendable, Codable {
        public var host: String
        public var pid: Int
        public var startedAt: String
        public var lastHeartbeat: String
        /// Its lease runs: it works, or its items are not yet taken over.
        public var live: Bool
        public var ended: Bool
        public var rowsHeld: Int

        enum CodingKeys: String, CodingKey {
            case host, pid, live, ended
            case startedAt = "started_at"
            case lastHeartbeat = "last_heartbeat"
            case rowsHeld = "rows_held"
        }
    }

    public struct ErrorKind: Sendable, Codable {
        public var error: String
        public var rows: Int
    }

    public var kind: String
    public var state: String
    /// Whether the job has a state at all (false: it never ran).
    public var started: Bool
    /// Whether a run holds the state's lock now.
    public var running: Bool
    public var rows = 0
    public var accepted = 0
    public var rejected = 0
    public var succeeded = 0
    public var failed = 0
    public var unknown = 0
    /// Rows the service answered it does not know (finished, not failed).
    public var notFound = 0
    public var pending = 0
    public var quota: [Quota] = []
    /// Limiters paced by a rate learned without quota headers (the next run paces from it).
    public var learned: [LearnedRate] = []
    /// A shared campaign's name (nil for a SQLite state).
    public var campaign: String?
    /// A shared campaign's workers, live ones and those that ended in the last day.
    public var workers: [Worker] = []
    /// The most common errors of failed and unknown rows.
    public var lastErrors: [ErrorKind] = []
    /// A SQLite state's last run that ended without an exit (killed, the machine lost): who it was and when it
    /// started (`pid 1234 on host-a, since 2026-12-07T20:53:23Z`).
    public var lastRunInterrupted: String?
    /// From the last run's summary.json, when there is one.
    public var lastExitCode: Int?
    public var lastFinishedAt: String?

    enum CodingKeys: String, CodingKey {
        case kind, state, started, running, rows, accepted, rejected, succeeded, failed, unknown, pending, quota, learned, campaign, workers
        case notFound = "not_found"
        case lastErrors = "last_errors"
        case lastRunInterrupted = "last_run_interrupted"
        case lastExitCode = "last_exit_code"
        case lastFinishedAt = "last_finished_at"
    }

    /// Reads the status of `configuration`'s job.
    ///
    /// - Throws: ``StoreError/cannotRead(state:)`` when the state exists but cannot be read; ``ManifestError`` (65)
    ///   when another job made it (its counts are not this job's).
    public static func read(_ configuration: JobConfiguration, wallClock: WallClock = .system()) async throws -> JobStatus {
        var path = configuration.statePath
        if case .postgres(let location) = try StoreLocation(path) { path = location.description }
        var status = JobStatus(kind: configuration.kind.rawValue, state: path, started: try CheckpointStores.exists(configuration), running: false)
        guard status.started else { return status }
        let store = try await CheckpointStores.open(configuration, access: .inspect)
        do {
            try await read(store, into: &status, configuration: configuration, wallClock: wallClock)
            await store.endRun()
            await store.close()
        } catch {
            await store.endRun()
            await store.close()
            throw error
        }
        return status
    }

    private static func read(_ store: any CheckpointStore, into status: inout JobStatus, configuration: JobConfiguration, wallClock: WallClock) async throws {
        if let stored = try await store.provenance() {
            let job = configuration.kind.makeJob(configuration)
            let current = configuration.provenance(rowSettings: job.intakeSettings)
            if !stored.isSameJob(as: current) { try ManifestIntake(configuration: configuration, job: job).check(stored, against: current) }
        }
        status.running = try await store.isRunActive()
        if !status.running, case .sqlite(let path)? = try? StoreLocation(configuration.statePath) {
            status.lastRunInterrupted = SQLiteRunLock.holder(statePath: path)?.description
        }
        if store.isShared {
            // A database holds many campaigns: this one has started once its intake is there.
            status.started = try await store.intakeSignature() != nil
            status.campaign = configuration.campaignName
            status.workers = try await store.workers().map {
                Worker(host: $0.host, pid: $0.pid, startedAt: $0.startedAt, lastHeartbeat: $0.lastHeartbeat, live: $0.isLive, ended: $0.hasEnded, rowsHeld: $0.itemsHeld)
            }
        }
        let counts = try await store.counts()
        (status.rows, status.accepted, status.rejected) = (counts.rows, counts.accepted, counts.rejected)
        (status.succeeded, status.failed, status.unknown, status.pending) = (counts.succeeded, counts.failed, counts.unknown, counts.pending)
        status.notFound = counts.notFound
        let now = wallClock.epochSeconds
        // A gateway without quota headers has no quota to show, only the rate learned from its 429s.
        for stored in try await store.allQuotas() {
            if stored.limit == nil, let rate = stored.learnedRate {
                status.learned.append(LearnedRate(limiter: stored.limiter, ratePerSecond: rate, windowSeconds: stored.learnedWindowSeconds))
            }
            // A window that is over says nothing about the next run.
            guard let limit = stored.limit, let resetIn = stored.resetIn(atLocal: now), resetIn > 0 else { continue }
            status.quota.append(
                Quota(
                    limiter: stored.limiter, limit: limit, used: stored.used, windowSeconds: stored.windowSeconds,
                    resetsAt: Date(timeIntervalSince1970: now + resetIn).formatted(.iso8601),
                    resetsInSeconds: Int(resetIn.rounded(.up))
                )
            )
        }
        status.lastErrors = try await store.errorCounts(limit: 5).map { ErrorKind(error: $0.error, rows: $0.count) }
        if let data = FileManager.default.contents(atPath: configuration.output + "/summary.json"),
            let summary = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            status.lastExitCode = summary["exit_code"] as? Int
            status.lastFinishedAt = summary["finished_at"] as? String
        }
    }
}

extension JobStatus {
    /// The status for a person at a terminal.
    public var text: String {
        guard started else { return "\(kind): not started (no state at \(state)).\n" }
        var lines = [
            "\(kind): \(running ? "a run is active" : "no run active")\(lastExitCode.map { ", last run exited \($0)" } ?? "")\(lastFinishedAt.map { " at \($0)" } ?? "")"
        ]
        if let lastRunInterrupted { lines.append("last run (\(lastRunInterrupted)) ended without an exit code: killed?") }
        lines += [
            "rows \(rows): \(succeeded) ok, \(notFound) not found, \(failed) failed, \(unknown) unknown, \(pending) pending, \(rejected) rejected",
        ]
        if let campaign {
            lines.append("campaign \(campaign): \(workers.filter(\.live).count) live worker\(workers.filter(\.live).count == 1 ? "" : "s")")
            for worker in workers {
                let standing = worker.live ? "live" : worker.ended ? "ended" : "lease expired"
                lines.append("  \(worker.host) pid \(worker.pid): \(standing), last heartbeat \(worker.lastHeartbeat), \(worker.rowsHeld) rows held")
            }
        }
        for quota in self.quota {
            let reset = quota.resetsInSeconds.map { " resets \(ResetText.describe(in: Double($0)))" } ?? " reset unknown"
            lines.append("quota \(quota.used) of \(quota.limit) used;\(reset)")
        }
        for learned in self.learned {
            let window = learned.windowSeconds.map { ", learned over \(ResetText.duration($0))" } ?? ""
            lines.append(String(format: "pace %.2f requests a second", learned.ratePerSecond) + " (no quota headers: learned from the gateway's 429s\(window))")
        }
        if !lastErrors.isEmpty {
            lines.append("errors:")
            for kind in lastErrors { lines.append("  \(kind.rows) x \(kind.error.isEmpty ? "(no message)" : kind.error)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
