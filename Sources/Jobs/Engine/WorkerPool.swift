/// Runs `concurrency` workers over a queue until it is empty or the run must stop. After a stop request, the rows in
/// flight (``RowsInFlight``: a request sent, the result not yet committed) get `grace` on the engine's clock to
/// finish; then, or as soon as none is left, every worker is cancelled (its row stays pending in the store). Rows
/// only waiting for the quota never hold a stop up.
struct WorkerPool: Sendable {
    let concurrency: Int
    let grace: Duration
    let clock: EngineClock
    let control: RunControl
    var inFlight = RowsInFlight()

    /// - Parameters:
    ///   - next: The next item, or nil when none is left. An error stops the run like one of `work`'s.
    ///   - work: Does one item to its commit. An error other than cancellation stops the run, as ``ExitTable``
    ///   maps it (the first reason wins); the other workers' rows get the grace.
    func run<Item: Sendable>(
        next: @escaping @Sendable () async throws -> Item?,
        work: @escaping @Sendable (Item) async throws -> Void
    ) async throws {
        let (control, inFlight) = (self.control, self.inFlight)
        let (grace, clock, concurrency) = (self.grace, self.clock, self.concurrency)
        try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask {
                try await withThrowingTaskGroup(of: Void.self) { workers in
                    for _ in 0..<concurrency {
                        workers.addTask {
                            while !control.isStopping {
                                do {
                                    guard let item = try await next() else { return }
                                    try await work(item)
                                } catch is CancellationError {
                                    throw CancellationError()
                                } catch is NotSentAfterStop {
                                    return
                                } catch {
                                    control.requestStop(ExitTable.jobError(for: error))
                                    return
                                }
                            }
                        }
                    }
                    try await workers.waitForAll()
                }
            }
            outer.addTask {
                await control.waitForStop()
                inFlight.close()
                try await withThrowingTaskGroup(of: Void.self) { stopping in
                    stopping.addTask { try await clock.sleep(for: grace) }
                    stopping.addTask { await inFlight.waitUntilEmpty() }
                    _ = try await stopping.next()
                    stopping.cancelAll()
                }
            }
            _ = try await outer.next()
            outer.cancelAll()
        }
    }
}
