import Jobs
import ServiceLifecycle
import Synchronization

/// A job run as a service of the command's `ServiceGroup`; when it ends, the group shuts the rest down (the
/// embedded sandbox answers what is in flight, then stops).
final class JobService: Service, Sendable {
    private let makeRunner: @Sendable () async throws -> JobRunner
    private let outcome = Mutex<RunResult?>(nil)

    /// - Parameter makeRunner: Builds the runner once the group runs (after the embedded sandbox is listening).
    init(makeRunner: @escaping @Sendable () async throws -> JobRunner) {
        self.makeRunner = makeRunner
    }

    /// How the run ended; nil until it did.
    var result: RunResult? { outcome.withLock { $0 } }

    func run() async throws {
        let result = try await makeRunner().run()
        outcome.withLock { $0 = result }
    }
}
