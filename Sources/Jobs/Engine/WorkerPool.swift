/// Runs `concurrency` workers over a queue until it is empty or the run must stop. After a stop request, items in
/// flight get `grace` on the engine's clock to finish; then they are cancelled (and stay pending in the store).
struct WorkerPool: Sendable {
    let concurrency: Int
    let grace: Duration
    let clock: EngineClock
    let control: RunControl

    /// - Parameters:
    ///   - next: The next item, or nil when none is left. An error stops the run like one of `work`'s.
    ///   - work: Does one item to its commit. An error other than cancellation stops the run, as ``ExitTable``
    ///   maps it (the first reason wins); the other workers' rows get the grace.
    func run<Item: Sendable>(
        next: @escaping @Sendable () async throws -> Item?,
        work: @escaping @Sendable (Item) async throws -> Void
    ) async throws {
        let control = self.control
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
                try await clock.sleep(for: grace)
            }
            _ = try await outer.next()
            outer.cancelAll()
        }
    }
}
