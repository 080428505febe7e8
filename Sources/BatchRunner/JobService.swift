import Foundation
import Jobs
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A job run as a service of the command's `ServiceGroup`. The first SIGINT or SIGTERM shuts the group down
/// gracefully: the run stops taking rows, rows in flight get their grace (on the engine's clock, see
/// `WorkerPool`), progress is checkpointed and the outputs are written, exit 75. A second signal ends the process
/// at once with 75 (what is committed stays; rows in flight stay pending).
final class JobService: Service, Sendable {
    private let control: RunControl
    private let makeRunner: @Sendable () async throws -> JobRunner
    private let outcome = Mutex<RunResult?>(nil)

    /// - Parameter makeRunner: Builds the runner once the group runs (after the embedded sandbox is listening).
    init(control: RunControl, makeRunner: @escaping @Sendable () async throws -> JobRunner) {
        self.control = control
        self.makeRunner = makeRunner
    }

    /// How the run ended; nil until it did.
    var result: RunResult? { outcome.withLock { $0 } }

    func run() async throws {
        let runner = try await makeRunner()
        let control = self.control
        let result = await withGracefulShutdownHandler {
            await withTaskGroup(of: RunResult?.self) { group in
                group.addTask { await runner.run() }
                group.addTask {
                    // ServiceGroup ignores signals once it shuts down; the second one is this watcher's.
                    guard (try? await gracefulShutdown()) != nil else { return nil }
                    for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { exit(75) }
                    return nil
                }
                while let next = await group.next() {
                    if let next {
                        group.cancelAll()
                        return next
                    }
                }
                return RunResult(exitCode: 70, message: "The run ended without a result.", outputFolder: nil)
            }
        } onGracefulShutdown: {
            control.requestStop(JobError(.stoppedResumable, "Stopped by a signal (SIGINT or SIGTERM); progress is saved. Run the same command again to resume."))
        }
        outcome.withLock { $0 = result }
    }
}
