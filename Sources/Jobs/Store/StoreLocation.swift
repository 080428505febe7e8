import Foundation

/// Where a job's state lives, from its `state:` setting.
package enum StoreLocation: Sendable, Equatable {
    /// A SQLite database file: one campaign, one run at a time.
    case sqlite(path: String)
    /// A PostgreSQL database: many campaigns, several workers on each.
    case postgres(PostgresLocation)

    /// Reads `state`, a path (relative paths were resolved against the job file's folder) or a `postgresql://`
    /// (`postgres://`) URL.
    ///
    /// - Throws: ``StoreError/unsupportedLocation(scheme:)`` for another scheme, ``StoreError/invalidLocation(_:)``
    ///   for a PostgreSQL URL that cannot be used.
    package init(_ state: String) throws(StoreError) {
        guard let scheme = Self.urlScheme(of: state) else {
            self = .sqlite(path: state)
            return
        }
        guard scheme == "postgresql" || scheme == "postgres" else { throw .unsupportedLocation(scheme: scheme) }
        self = .postgres(try PostgresLocation(url: state))
    }

    /// The scheme of a `state:` that is a URL (`postgresql://...`), lowercased; nil for a path. A URL is not a
    /// path to resolve against the job file's folder.
    package static func urlScheme(of state: String) -> String? {
        guard let separator = state.range(of: "://") else { return nil }
        let scheme = state[..<separator.lowerBound]
        return !scheme.isEmpty && scheme.allSatisfy({ $0.isLetter || $0 == "+" }) ? scheme.lowercased() : nil
    }
}
