import Foundation
import Jobs
import ServiceLifecycle
import UnixSignals

/// SIGINT and SIGTERM, as a service of the same group. The first asks the run to stop: it takes no new row, rows
/// in flight get their grace (on the engine's clock, see `WorkerPool`), progress is checkpointed and the outputs
/// are written, exit 75; every wait on the state database is bounded by `state_timeout`, so this takes at most the
/// grace plus that. A second one ends the process at once with 75, in every stage: what is committed stays, rows
/// in flight stay pending, and every output file is written atomically, so none is half-written (one may be from
/// the previous run; the next run rewrites them all).
struct SignalStop: Service {
    let control: RunControl

    func run() async throws {
        var count = 0
        for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm).cancelOnGracefulShutdown() {
            count += 1
            guard count == 1 else {
                FileHandle.standardError.write(Data("batch-runner: \(signal) again: exiting at once (75); what was committed is kept.\n".utf8))
                exit(75)
            }
            control.requestStop(JobError(.stoppedResumable, "Stopped by \(signal); progress is saved. Run the same command again to resume."))
        }
    }
}
