import Logging
import RateLimiter

/// Sends what is pending: builds the limiter (with the quota the store kept), the transport and the API client,
/// and runs the workers; each finished row is committed in a group before its worker takes the next.
struct SendingStage {
    let configuration: JobConfiguration
    let credentials: ClientCredentials
    let options: RunOptions
    let control: RunControl
    let environment: RunEnvironment
    let logger: Logger

    func run(store: any CheckpointStore, job: any BatchJob, statistics: RunStatistics, monitor: RunMonitor, pendingWork: Int) async throws {
        var limiterConfiguration = configuration.quota
        // Several workers share one adaptive rate, kept with the quota in the store.
        limiterConfiguration.pacesAdaptively = store.sharedQuota == nil
        let logger = self.logger
        let limiter = RateLimiter(
            configuration: limiterConfiguration, clock: environment.clock,
            onWaitForReset: { wait in logger.notice("quota spent; waiting for the reset \(ResetText.describe(in: wait.seconds))") }
        )
        let serverClock = ServerClock(wallClock: environment.wallClock)
        let quota = QuotaPersistence(base: configuration.endpoints.base, clientID: credentials.id, serverClock: serverClock, wallClock: environment.wallClock)
        if options.ignoreSavedQuota {
            logger.notice("the quota window an earlier run saved is ignored (--ignore-saved-quota): the first answer's quota headers decide")
        }
        if let (stored, resetIn) = try await quota.restore(into: limiter, from: store, ignoringWindow: options.ignoreSavedQuota) {
            if let limit = stored.limit, let resetIn {
                logger.info(
                    "quota state restored",
                    metadata: ["quota.limit": "\(limit)", "quota.used": "\(stored.used)", "quota.resets": "\(ResetText.describe(in: resetIn))"]
                )
            } else if let rate = stored.learnedRate {
                logger.info(
                    "learned rate restored (no quota headers)",
                    metadata: ["rate_per_s": "\((rate * 1000).rounded() / 1000)", "window_s": "\(stored.learnedWindowSeconds.map { Int($0.rounded()) } ?? 0)"]
                )
            }
        }
        limiter.setBacklog(pendingWork)
        monitor.attach(limiter)

        let transport = environment.makeTransport(configuration)
        let tokens = job.makeTokenProvider(
            TokenContext(
                transport: transport, credentials: credentials, retry: configuration.retry, statistics: statistics,
                serverClock: serverClock, clock: environment.clock, jitter: environment.jitter
            )
        )
        let sharedQuota = store.sharedQuota.map {
            SharedQuotaGate(
                ledger: $0, limiter: quota.key, batch: configuration.concurrency, configuration: configuration.quota,
                serverClock: serverClock, clock: environment.clock, jitter: environment.jitter,
                probeTimeout: configuration.http.timeout, learned: { limiter.setSharedLearnedRate(perSecond: $0, window: $1) }
            )
        }
        var sendPermit: (@Sendable () async throws -> Void)?
        if let lease = store.workerLease { sendPermit = { try await lease.permit() } }
        let client = APIClient(
            transport: transport, limiter: limiter, sharedQuota: sharedQuota, tokens: tokens,
            sendPermit: sendPermit, retry: configuration.retry,
            maxBodyBytes: configuration.http.maxBodyBytes, statistics: statistics, serverClock: serverClock,
            wallClock: environment.wallClock, clock: environment.clock, jitter: environment.jitter, logger: logger
        )
        let queue = WorkQueue(
            store: store, limit: options.limit, clock: environment.clock, isStopping: { [control] in control.isStopping },
            onIdle: { try await sharedQuota?.giveBack() }
        )
        let committer = GroupCommitter(store: store) { quota.snapshot(of: limiter) }
        let backlog = BacklogCounter(pendingWork)
        let journal = SendJournal(store: store)
        let inFlight = RowsInFlight()
        let pool = WorkerPool(
            concurrency: configuration.concurrency, grace: options.shutdownGrace, clock: environment.clock, control: control, inFlight: inFlight
        )
        logger.info("sending", metadata: ["work.pending": "\(pendingWork)", "concurrency": "\(configuration.concurrency)"])
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await monitor.report(campaign: store.isShared ? store : nil) }
                defer { group.cancelAll() }
                let complete = job.makeRowCompleter(client: client, journal: journal, inFlight: inFlight)
                try await pool.run(next: { try await queue.next() }) { item in
                    defer { inFlight.leave(item.id) }
                    let completion = try await complete(item)
                    try await committer.commit(completion)
                    limiter.setBacklog(backlog.decrement())
                    monitor.record(completion.state)
                    logger.trace(
                        "row finished",
                        metadata: ["work.value": "\(maskedForLog(item.value))", "work.state": "\(completion.state)", "work.attempts": "\(completion.attempts)"]
                    )
                }
            }
        } catch {
            try? await transport.shutdown()
            throw error
        }
        if let saved = quota.snapshot(of: limiter) { try await store.saveQuota(saved) }
        try await transport.shutdown()
    }
}
