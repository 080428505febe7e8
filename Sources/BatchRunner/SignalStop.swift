import Foundation
import Jobs
import ServiceLifecycle
import UnixSignals

/// SIGINT and SIGTERM, as a service of the same group. The first asks the run to stop: it takes no new row, rows
/// in flight get their grace (on the engine's clock, see `WorkerPool`), progress is checkpointed and the outputs
/// are written, exit 75. A second one ends the process at once with 75 (what is committed stays; rows in flight
/// stay pending), unless the outputs are being written: then it waits for them (seconds), so results.csv and
/// summary.json never come from different moments.
struct SignalStop: Service {
    let control: RunControl

    func run() async throws {
        var count = 0
        for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm).cancelOnGracefulShutdown() {
            count += 1
            if count > 1, control.isWritingOutputs {
                FileHandle.standardError.write(Data("batch-runner: \(signal) again: the outputs are being written; exiting as soon as they are complete.\n".utf8))
                continue
            }
            guard count == 1 else { exit(75) }
            control.requestStop(JobError(.stoppedResumable, "Stopped by \(signal); progress is saved. Run the same command again to resume."))
        }
    }
}
