import Foundation
import GRDB
import RateLimiter

/// The one place where an error that ends a command becomes an exit code and a sentence for the user.
///
/// Lower layers throw what happened, in their own terms: ``ManifestError``, ``JobFileError``, ``FileSystemError``,
/// ``StoreError``, ``ServiceError``, GRDB's `DatabaseError`. This table decides what cron's mail, or the person
/// at the terminal, is told: the exit code (see the README) and what to do.
package enum ExitTable {
    /// What a command was doing when an error ended it: the words for an error no layer described.
    package enum Phase: Sendable, Equatable {
        /// Reading the job file, the manifest or the state, before any request.
        case start
        /// Sending.
        case run
        /// Writing the outputs to this folder.
        case outputs(folder: String)
        /// `validate` reading the manifest.
        case validation
    }

    /// The ending `error` gives a command.
    ///
    /// A damaged or unwritable state database ends with 74, like any local file the runner cannot write.
    package static func jobError(for error: any Error, during phase: Phase = .run) -> JobError {
        switch error {
        case let error as JobError: error
        case let error as ManifestError: JobError(.manifestUnusable, error.message)
        case let error as JobFileError: JobError(.configuration, error.message)
        case let error as FileSystemError: JobError(.ioError, error.message)
        case let error as StoreError: jobError(for: error)
        case let error as ServiceError: jobError(for: error)
        case is CancellationError:
            JobError(.stoppedResumable, "The run was cancelled; progress is saved. Run the same command again to resume.")
        default: jobError(forUndescribed: error, during: phase)
        }
    }

    /// Errors from below the domain layers (GRDB, the runtime).
    private static func jobError(forUndescribed error: any Error, during phase: Phase) -> JobError {
        switch phase {
        case .outputs(let folder):
            return JobError(.ioError, "Cannot write the outputs to \(folder): \(error)")
        case .validation:
            return JobError(.ioError, "Cannot check the manifest: \(error)")
        case .start, .run:
            if let error = error as? DatabaseError {
                if error.resultCode == .SQLITE_FULL {
                    return JobError(.ioError, "The state database cannot grow: is the disk full? Free some space and run again; every committed row is kept.")
                }
                return JobError(.ioError, "The state database failed (\(error.resultCode)); check that its disk has space and its folder is writable.")
            }
            let when = phase == .start ? "before the run started" : "during the run"
            return JobError(.internalError, "Unexpected error \(when): \(error)")
        }
    }

    private static func jobError(for error: StoreError) -> JobError {
        switch error {
        case .locked(let state, let holder):
            JobError(
                .stoppedResumable,
                "Another batch-runner run\(holder.map { " (\($0))" } ?? "") is using the state \(state); this run exits without doing anything. Let that run finish (or stop it), then run again."
            )
        case .cannotOpen(let state):
            JobError(.ioError, "Cannot open the state database \(state); check that its folder is writable, or move the file away to start over.")
        case .cannotRead(let state):
            JobError(.ioError, "Cannot read the state database \(state); check its permissions.")
        case .unsupportedLocation, .invalidLocation:
            JobError(.configuration, "state: \(error.locationProblem).")
        case .databaseUnavailable(let location, let reason):
            JobError(.serviceRefused, "Cannot use the state database \(location): \(reason). Nothing was sent; rows stay pending.")
        case .connectionLost(let location, let operation):
            JobError(.stoppedResumable, "The connection to the state database \(location) was lost (while the worker was to \(operation)); what was committed is kept. Run again once the database is back to resume.")
        case .stateTimedOut(let location, let operation, let timeout):
            JobError(.stoppedResumable, "The state database \(location) did not answer within state_timeout (\(DurationText.describe(timeout))) when the worker was to \(operation): a stalled server or a lock held by another session. What was committed is kept; run again once the database answers (raise state_timeout if it is merely slow).")
        case .databaseRefused(let location, let message):
            JobError(.serviceRefused, "The state database \(location) refused this worker (\(message)); check the user's login and rights, then run again. What was committed is kept.")
        case .databaseFull(let location, let message):
            JobError(.ioError, "The state database \(location) cannot write (\(message)): its disk is full. Free space on the database server, then run again; what was committed is kept.")
        case .databaseFailed(let location, let sqlState, let message):
            JobError(.internalError, "The state database \(location) failed with SQLSTATE \(sqlState): \(message). What was committed is kept; run again, and report this if it recurs.")
        case .claimLost(let location):
            JobError(.stoppedResumable, "This worker's lease in \(location) ran out before it could be renewed (the host paused, or the state database did not answer in time), so other workers may hold its rows now; it stopped without sending them. What was committed is kept; run again to rejoin (raise `lease` if this recurs).")
        case .campaignBusy(let campaign, let workers):
            JobError(.stoppedResumable, "--restart refused: \(workers) live worker\(workers == 1 ? "" : "s") still work campaign \(campaign). Stop them (or wait until their lease runs out), then restart.")
        case .newerSchema(let location, let version):
            JobError(.ioError, "The state database \(location) was set up by a newer batch-runner (schema version \(version)); run that version, or use another database.")
        case .stateDamaged(let state, let problem):
            JobError(.ioError, "The state \(state) \(problem), so it cannot be trusted and nothing was sent. Restore it from a backup, or run with --restart to move it aside (kept as \(state).damaged-<UTC time>) and start over.")
        case .rowTaken(let state):
            JobError(.stoppedResumable, "A row of \(state) was no longer pending when this run went to send it: another process works the same state (through another path to it?). This run stops without sending it; let the other run finish.")
        }
    }

    private static func jobError(for error: ServiceError) -> JobError {
        switch error {
        case .quotaExhausted(let resetIn):
            let when = resetIn.map { ResetText.describe(in: $0.seconds) } ?? "at an unknown time"
            return JobError(
                .stoppedResumable,
                "The API quota is spent and resets \(when), beyond quota.max_wait; progress is saved, run again after the reset (or with --ignore-saved-quota once the service's quota changed)."
            )
        case .failing:
            return JobError(.stoppedResumable, "Most recent requests to the API failed (HTTP 5xx or no answer); the run stops here instead of failing every row. Progress is saved; run again when the service is back.")
        case .credentialsRefused(let answer):
            return JobError(.serviceRefused, "The API refused the credentials (\(answer)) even with a new token; check the client id and secret variables and the product subscription.")
        case .tokenRefused(let answer):
            return JobError(.serviceRefused, "The token endpoint refused the credentials (\(answer)); check the values of the client id and secret environment variables.")
        case .tokenRequestRejected(let answer):
            return JobError(.serviceRefused, "The token endpoint rejected the request (\(answer)); check the endpoints.token URL and the scopes.")
        case .tokenAnswerTooLarge:
            return JobError(.serviceRefused, "The token endpoint answered with more than http.max_body_mb; check the endpoints.token URL.")
        case .tokenAnswerWithoutToken:
            return JobError(.serviceRefused, "The token endpoint answered without an access_token; check the endpoints.token URL.")
        case .tokenAnswerWrongType(let shape):
            return JobError(.serviceRefused, "The token endpoint's answer is not the documented JSON (\(shape.description)); check the endpoints.token URL.")
        case .tokenEndpointFailing(let problem):
            return JobError(.stoppedResumable, "The token endpoint kept failing (\(problem)); progress is saved, run again later.")
        case .connection(let failure):
            return JobError(.serviceRefused, failure.message)
        }
    }
}

extension RunResult {
    /// A run that ended with `error` before or without writing its outputs.
    init(failure error: JobError) {
        self.init(exitCode: error.code.exitCode, message: error.message, outputFolder: nil)
    }
}
