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
    /// - Throws: ``StoreError/unsupportedLocation(scheme:)`` for a database URL this version cannot use.
    package init(_ state: String) throws(StoreError) {
        if let scheme = Self.urlScheme(of: state) { throw .unsupportedLocation(scheme: scheme) }
        self = .sqlite(path: state)
    }

    /// The scheme of a `state:` that is a URL (`postgresql://...`), lowercased; nil for a path. A URL is not a
    /// path to resolve against the job file's folder.
    package static func urlScheme(of state: String) -> String? {
        guard let separator = state.range(of: "://") else { return nil }
        let scheme = state[..<separator.lowerBound]
        return !scheme.isEmpty && scheme.allSatisfy({ $0.isLetter || $0 == "+" }) ? scheme.lowercased() : nil
    }
}

/// The one place a store is chosen and opened: `run`, `status` and `validate` all come here.
package enum CheckpointStores {
    /// Opens the store of `configuration`'s state.
    ///
    /// - Throws: ``StoreError``: `locked` when another run holds it (``StoreAccess/run``), `cannotOpen`,
    ///   `unsupportedLocation`; ``FileSystemError`` when its lock cannot be made.
    package static func open(_ configuration: JobConfiguration, access: StoreAccess) throws -> any CheckpointStore {
        switch try StoreLocation(configuration.statePath) {
        case .sqlite(let path):
            do {
                return try SQLiteCheckpointStore(path: path, access: access)
            } catch let error as StoreError {
                throw error
            } catch let error as FileSystemError {
                throw error
            } catch {
                throw access == .run ? StoreError.cannotOpen(state: path) : StoreError.cannotRead(state: path)
            }
        }
    }

    /// Whether `configuration`'s state exists (a job that never ran has none).
    package static func exists(_ configuration: JobConfiguration) throws(StoreError) -> Bool {
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
