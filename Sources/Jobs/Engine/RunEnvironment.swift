/// What a run talks to and waits on. The command line uses ``live(wallClock:)``; engine tests pass a manual
/// clock, an in-memory transport and an in-memory store, and run a whole job without a process or a server.
package struct RunEnvironment: Sendable {
    /// What every wait of the run sleeps on: the limiter, backoff, token lifetimes, polling, grace, progress.
    package var clock: EngineClock
    /// The local wall clock, for timestamps and stored quota resets.
    package var wallClock: WallClock
    /// A number in 0..<1 for each backoff's jitter.
    package var jitter: @Sendable () -> Double
    /// Makes the run's transport.
    package var makeTransport: @Sendable (_ configuration: JobConfiguration) -> any HTTPTransport
    /// Opens the run's store.
    package var openStore: @Sendable (_ configuration: JobConfiguration, _ access: StoreAccess) async throws -> any CheckpointStore

    package init(
        clock: EngineClock,
        wallClock: WallClock,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        makeTransport: @escaping @Sendable (_ configuration: JobConfiguration) -> any HTTPTransport,
        openStore: @escaping @Sendable (_ configuration: JobConfiguration, _ access: StoreAccess) async throws -> any CheckpointStore
    ) {
        self.clock = clock
        self.wallClock = wallClock
        self.jitter = jitter
        self.makeTransport = makeTransport
        self.openStore = openStore
    }

    /// The real thing: the monotonic clock, AsyncHTTPClient on the `network` path, and the store `state:` names.
    package static func live(wallClock: WallClock = .system(), network: NetworkSettings = NetworkSettings()) -> RunEnvironment {
        RunEnvironment(
            clock: .continuous,
            wallClock: wallClock,
            makeTransport: { configuration in
                AsyncHTTPClientTransport(
                    concurrency: configuration.concurrency, timeout: configuration.http.timeout,
                    maxBodyBytes: configuration.http.maxBodyBytes, network: network
                )
            },
            openStore: { configuration, access in try await CheckpointStores.open(configuration, access: access) }
        )
    }
}
