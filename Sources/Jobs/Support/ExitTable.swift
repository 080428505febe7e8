import Foundation
import GRDB

/// The one place where an error that ends a run becomes an exit code and a sentence for the user.
///
/// Lower layers throw what happened (``JobError`` where they already know the advice, a store's or the file
/// system's own error otherwise); this table decides what the person at the terminal, or cron, is told.
package enum ExitTable {
    /// The ``JobError`` that `error` ends the run with.
    ///
    /// - Parameter folder: When the error came from writing the outputs, the output folder.
    package static func jobError(for error: any Error, writing folder: String? = nil) -> JobError {
        switch error {
        case let error as JobError:
            return error
        case is CancellationError:
            return JobError(.stoppedResumable, "The run was cancelled; progress is saved. Run the same command again to resume.")
        case let error as DatabaseError:
            return JobError(.ioError, "The state database failed (\(error.resultCode)); check that its disk has space and its folder is writable.")
        default:
            if let folder {
                return JobError(.ioError, "Cannot write the outputs to \(folder): \(error)")
            }
            return JobError(.internalError, "Unexpected error: \(error)")
        }
    }
}

extension RunResult {
    /// A run that ended with `error` before or without writing its outputs.
    init(failure error: JobError) {
        self.init(exitCode: error.code.exitCode, message: error.message, outputFolder: nil)
    }
}
