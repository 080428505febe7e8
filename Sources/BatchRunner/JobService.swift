import Foundation
import Jobs
import ServiceLifecycle
import Synchronization
import UnixSignals

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

/// SIGINT and SIGTERM, as a service of the same group. The first asks the run to stop: it takes no new row, rows
/// in flight get their grace (on the engine's clock, see `WorkerPool`), progress is checkpointed and the outputs
/// are written, exit 75. A second one ends the process at once with 75 (what is committed stays; rows in flight
/// stay pending).
struct SignalStop: Service {
    let control: RunControl

    func run() async throws {
        var count = 0
        for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm).cancelOnGracefulShutdown() {
            count += 1
            guard count == 1 else { exit(75) }
            control.requestStop(JobError(.stoppedResumable, "Stopped by \(signal); progress is saved. Run the same command again to resume."))
        }
    }
}
