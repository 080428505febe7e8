import Foundation

/// What a command opens a state for.
package enum StoreAccess: Sendable, Equatable {
    /// To work it: the store takes this process's right to (SQLite: the run lock, held until ``CheckpointStore/endRun()``).
    case run
    /// To read or check it (`status`, `validate`): nothing is locked.
    case inspect
}

/// Where a job's state lives, from its `state:` setting.
package enum StoreLocation: Sendable, Equatable {
    /// A SQLite database file.
    case sqlite(path: String)

    /// Reads `state`, a path (relative paths were resolved against the job file's folder).
    ///
    /// - Throws: ``JobError`` 78 for a database URL this version cannot use.
    package init(_ state: String) throws(JobError) {
        if let scheme = state.range(of: "://").map({ state[..<$0.lowerBound].lowercased() }), scheme.allSatisfy(\.isLetter) {
            throw JobError(.configuration, "state: a \(scheme):// URL is not supported by this version; set state to a file path (a SQLite database).")
        }
        self = .sqlite(path: state)
    }
}

/// The one place a store is chosen and opened: `run`, `status` and `validate` all come here.
package enum CheckpointStores {
    /// Opens the store of `configuration`'s state.
    ///
    /// - Throws: ``JobError`` 75 when another run holds it (``StoreAccess/run``), 74 when it cannot be opened, 78
    ///   when `state:` names nothing usable.
    package static func open(_ configuration: JobConfiguration, access: StoreAccess) throws(JobError) -> any CheckpointStore {
        switch try StoreLocation(configuration.statePath) {
        case .sqlite(let path):
            do {
                return try SQLiteCheckpointStore(path: path, access: access)
            } catch let error as JobError {
                throw error
            } catch {
                throw JobError(.ioError, "Cannot open the state database \(path); check that its folder is writable, or move the file away to start over.")
            }
        }
    }

    /// Whether `configuration`'s state exists (a job that never ran has none).
    package static func exists(_ configuration: JobConfiguration) throws(JobError) -> Bool {
        switch try StoreLocation(configuration.statePath) {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        }
    }

    /// Runs `body` with a private store that is deleted after it (`validate` reads a manifest into one). It lives
    /// in a temporary file, not in memory, so a manifest of millions of rows costs disk, not memory.
    package static func withScratchStore<T>(_ body: (any CheckpointStore) async throws -> T) async throws -> T {
        let folder = NSTemporaryDirectory() + "batch-runner-scratch-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try await body(try SQLiteCheckpointStore(path: folder + "/state.sqlite"))
    }
}
