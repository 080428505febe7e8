/// What went wrong with a job's state, as the store saw it.
package enum StoreError: Error, Sendable, Equatable {
    /// Another run works the state now; `holder` names it when known (`pid 1234 on host-a, since 20:53:23Z`).
    case locked(state: String, holder: String? = nil)
    /// The state cannot be opened (created, migrated) for a run.
    case cannotOpen(state: String)
    /// The state exists but cannot be read.
    case cannotRead(state: String)
    /// `state:` names a kind of database this version cannot use.
    case unsupportedLocation(scheme: String)
    /// `state:` is a PostgreSQL URL that cannot be used: what is wrong with it.
    case invalidLocation(String)
    /// The database server cannot be reached, refuses the login, or has no such database: where (masked) and why.
    case databaseUnavailable(location: String, reason: String)
    /// The database connection was lost during the run, in `operation` (what the worker was doing: "commit
    /// finished rows"); what is committed stays.
    case connectionLost(location: String, operation: String)
    /// The database did not answer `operation` within `state_timeout` (a frozen host, a lock held elsewhere): the
    /// connection counts as lost.
    case stateTimedOut(location: String, operation: String, timeout: Duration)
    /// The database refused the worker's login or rights (SQLSTATE class 28, or 42501) during the run.
    case databaseRefused(location: String, message: String)
    /// The database's disk is full (SQLSTATE 53100).
    case databaseFull(location: String, message: String)
    /// The database server answered an operation with another error: its SQLSTATE and message (which never
    /// holds row data).
    case databaseFailed(location: String, sqlState: String, message: String)
    /// This worker's lease ran out (it could not be renewed in time) and other workers may have taken over its
    /// items: it must not send them.
    case claimLost(location: String)
    /// `--restart` on a campaign that live workers hold.
    case campaignBusy(campaign: String, workers: Int)
    /// The database holds a schema of a newer batch-runner.
    case newerSchema(location: String, version: Int)
    /// A SQLite state that must not be trusted: what is wrong with it (`is not a SQLite database`, `was rolled
    /// back by 3 commits`, ...). `--restart` moves it aside.
    case stateDamaged(state: String, problem: String)
    /// A row was no longer pending when this run went to send it: another process works the same state.
    case rowTaken(state: String)

    /// The sentence for the job file's `state:` key.
    package var locationProblem: String {
        switch self {
        case .invalidLocation(let problem): problem
        case .unsupportedLocation(let scheme): "a \(scheme):// URL is not supported; use a file path (SQLite) or a postgresql:// URL"
        default: "cannot be used"
        }
    }
}

extension StoreError {
    /// The database went away or stopped answering (not a refusal): a heartbeat connects again.
    package var isConnectionTrouble: Bool {
        switch self {
        case .connectionLost, .stateTimedOut, .databaseUnavailable: true
        default: false
        }
    }
}
