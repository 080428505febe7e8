package import Logging
import PostgresNIO

extension PostgresCheckpointStore {
    /// What `validate --connect` checks of a PostgreSQL state without changing it: the login, the database, and
    /// the rights a run needs (to create the tables, or to use them once they exist). Answers what it found.
    ///
    /// - Throws: ``StoreError/databaseUnavailable(location:reason:)`` when the server cannot be reached or refuses
    ///   the login, or the user lacks the rights (69, as `run` would end).
    package static func checkAccess(
        _ location: PostgresLocation, password: String?, trust: TrustSettings, stateTimeout: Duration, logger: Logger
    ) async throws -> String {
        let connections = try await PostgresConnections.open(
            location, password: password, trust: trust, count: 1, timeout: stateTimeout, clock: .continuous, role: "check", logger: logger
        )
        let rights: (String, String, Bool, Bool, Bool)?
        do {
            rights = try await connections.with("check the rights") { connection in
                try await connection.query(
                    """
                    SELECT current_user::text, current_schema()::text, has_schema_privilege(current_schema(), 'CREATE'),
                        to_regclass('batch_runner_work') IS NOT NULL,
                        coalesce(has_table_privilege(to_regclass('batch_runner_work'), 'SELECT,INSERT,UPDATE,DELETE'), true)
                    """
                ).decode((String, String, Bool, Bool, Bool).self).first
            }
        } catch {
            await connections.close()
            throw error
        }
        await connections.close()
        guard let (user, schema, mayCreate, hasTables, mayUse) = rights else { return "connected" }
        if hasTables {
            guard mayUse else {
                throw StoreError.databaseUnavailable(
                    location: location.description,
                    reason: "the user \(user) may not read and write the batch_runner_* tables; grant it SELECT, INSERT, UPDATE and DELETE on them"
                )
            }
            return "login \(user); the batch_runner_* tables are there and usable"
        }
        guard mayCreate else {
            throw StoreError.databaseUnavailable(
                location: location.description,
                reason: "the user \(user) may not create tables in schema \(schema), and the batch_runner_* tables are not there yet; grant it CREATE on the schema (or make it the database's owner)"
            )
        }
        return "login \(user); the first run creates the batch_runner_* tables in schema \(schema)"
    }
}
