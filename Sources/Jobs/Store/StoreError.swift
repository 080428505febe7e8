/// What went wrong with a job's state, as the store saw it.
package enum StoreError: Error, Sendable, Equatable {
    /// Another run works the state now.
    case locked(state: String)
    /// The state cannot be opened (created, migrated) for a run.
    case cannotOpen(state: String)
    /// The state exists but cannot be read.
    case cannotRead(state: String)
    /// `state:` names a kind of database this version cannot use.
    case unsupportedLocation(scheme: String)
}
