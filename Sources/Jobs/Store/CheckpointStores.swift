import Foundation
package import Logging

/// What a command opens a state for.
package enum StoreAccess: Sendable, Equatable {
    /// To work it: the store takes this process's right to (SQLite: the run lock, held until ``CheckpointStore/endRun()``).
    case run
    /// To read or check it (`status`, `validate`): nothing is locked.
    case inspect
}

/// The one place a store is chosen and opened: `run`, `status` and `validate` all come here.
package enum CheckpointStores {
    /// Opens the store of `configuration`'s state.
    ///
    /// - Parameter environment: Where a PostgreSQL store's password (`state_password_env`) and the trusted CAs
    ///   (`SSL_CERT_FILE`, `SSL_CERT_DIR`) come from.
    /// - Throws: ``StoreError``: `locked` when another run holds a SQLite state (``StoreAccess/run``),
    ///   `cannotOpen`, `unsupportedLocation`, `databaseUnavailable`; ``FileSystemError`` when its lock cannot be made.
    package static func open(
        _ configuration: JobConfiguration, access: StoreAccess,
        environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger = Logger(label: "batch-runner.store")
    ) async throws -> any CheckpointStore {
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
        case .postgres(let location):
            let trust = location.sslMode == .verifyFull
                ? try TrustSettings.load(caFile: configuration.http.caFile, environment: environment) : TrustSettings()
            return try await PostgresCheckpointStore.open(
                location, password: environment[configuration.statePasswordVariable], trust: trust,
                campaign: configuration.campaignName, lease: configuration.lease, stateTimeout: configuration.stateTimeout,
                outputFolder: configuration.output,
                access: access, logger: logger
            )
        }
    }

    /// What `validate --connect` says of a PostgreSQL state: reached with the run's login and rights (see
    /// ``PostgresCheckpointStore/checkAccess(_:password:trust:stateTimeout:logger:)``); nil for a SQLite state,
    /// which needs no network.
    ///
    /// - Throws: ``StoreError`` as `run` would meet it (69 for a server that cannot be used).
    package static func checkConnection(
        _ configuration: JobConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "batch-runner.store")
    ) async throws -> String? {
        guard case .postgres(let location) = try StoreLocation(configuration.statePath) else { return nil }
        let trust = location.sslMode == .verifyFull
            ? try TrustSettings.load(caFile: configuration.http.caFile, environment: environment) : TrustSettings()
        return try await PostgresCheckpointStore.checkAccess(
            location, password: environment[configuration.statePasswordVariable], trust: trust,
            stateTimeout: configuration.stateTimeout, logger: logger
        )
    }

    /// Whether `configuration`'s state exists (a job that never ran has none).
    package static func exists(_ configuration: JobConfiguration) throws(StoreError) -> Bool {
        switch try StoreLocation(configuration.statePath) {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }

    /// Runs `body` with a private store that is deleted after it (`validate` reads a manifest into one). It lives
    /// in a temporary file, not in memory, so a manifest of millions of rows costs disk, not memory.
    package static func withScratchStore<T>(_ body: (SQLiteCheckpointStore) async throws -> T) async throws -> T {
        let folder = NSTemporaryDirectory() + "batch-runner-scratch-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try await body(try SQLiteCheckpointStore(path: folder + "/state.sqlite"))
    }
}
