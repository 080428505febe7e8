import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// A worker's few connections to the PostgreSQL state, each lent to one operation at a time.
///
/// Not a reconnecting pool on purpose: a connection lost mid-run ends the run (exit 75, everything committed
/// stays), it is never silently replaced while rows are in flight. Errors leave here as ``StoreError``:
/// `databaseUnavailable` while connecting, `connectionLost` after, a server error's own message otherwise.
final class PostgresConnections: Sendable {
    private struct State {
        var free: [PostgresConnection]
        var waiters: [CheckedContinuation<PostgresConnection, any Error>] = []
        var isLost = false
    }

    let location: PostgresLocation
    let logger: Logger
    private let state: Mutex<State>
    private let all: [PostgresConnection]

    /// Opens `count` connections.
    ///
    /// - Throws: ``StoreError/databaseUnavailable(location:reason:)`` naming what the server or network said.
    static func open(_ location: PostgresLocation, password: String?, trust: TrustSettings, count: Int, logger: Logger) async throws -> PostgresConnections {
        let configuration = try Self.configuration(location, password: password, trust: trust)
        var opened: [PostgresConnection] = []
        do {
            for index in 0..<count {
                opened.append(try await PostgresConnection.connect(configuration: configuration, id: index, logger: logger))
            }
        } catch {
            for connection in opened { try? await connection.close() }
            throw StoreError.databaseUnavailable(location: location.description, reason: Self.describeConnectFailure(error, location: location))
        }
        return PostgresConnections(location: location, connections: opened, logger: logger)
    }

    private init(location: PostgresLocation, connections: [PostgresConnection], logger: Logger) {
        self.location = location
        self.logger = logger
        self.all = connections
        self.state = Mutex(State(free: connections))
        // A connection the server or the network closed fails every operation from then on, also those already
        // waiting for a connection: nothing waits on a database that is gone.
        for connection in connections {
            connection.closeFuture.whenComplete { [weak self] _ in self?.markLost() }
        }
    }

    private func markLost() {
        let waiters = state.withLock { state in
            state.isLost = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: StoreError.connectionLost(location: location.description)) }
    }

    /// Runs `body` on a connection of its own; a transaction when `transaction` is set.
    func with<T: Sendable>(transaction: Bool = false, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await lease()
        defer { release(connection) }
        do {
            if transaction {
                return try await connection.withTransaction(logger: logger) { try await body($0) }
            }
            return try await body(connection)
        } catch {
            throw translate(error)
        }
    }

    /// Closes every connection (a closed store reports a lost connection to anyone still asking).
    func close() async {
        for connection in all { try? await connection.close() }
    }

    private func lease() async throws -> PostgresConnection {
        enum Step { case ready(PostgresConnection), lost, wait }
        let step = state.withLock { state -> Step in
            if state.isLost { return .lost }
            return state.free.popLast().map(Step.ready) ?? .wait
        }
        switch step {
        case .ready(let connection): return connection
        case .lost: throw StoreError.connectionLost(location: location.description)
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLock { state -> Result<PostgresConnection, any Error>? in
                    if state.isLost { return .failure(StoreError.connectionLost(location: location.description)) }
                    if let connection = state.free.popLast() { return .success(connection) }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }

    private func release(_ connection: PostgresConnection) {
        let waiter = state.withLock { state -> CheckedContinuation<PostgresConnection, any Error>? in
            if state.waiters.isEmpty {
                state.free.append(connection)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: connection)
    }

    /// A lost connection becomes ``StoreError/connectionLost(location:)`` (and every later lease fails the same
    /// way); a server's error its message.
    private func translate(_ error: any Error) -> any Error {
        if let error = error as? PostgresTransactionError {
            // What failed inside the transaction, not the wrapper (a lost connection, or the caller's own error).
            if let failure = error.closureError ?? error.beginError ?? error.commitError { return translate(failure) }
        }
        guard let error = error as? PSQLError else { return error }
        if Self.isConnectionLoss(error) {
            state.withLock { $0.isLost = true }
            return StoreError.connectionLost(location: location.description)
        }
        if let message = error.serverInfo?[.message] {
            return StoreError.databaseFailed(location: location.description, message: message)
        }
        return error
    }

    static func isConnectionLoss(_ error: PSQLError) -> Bool {
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .messageDecodingFailure:
            return true
        case .server:
            // 08: connection exception; 57P: the server is shutting down or the session was terminated.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return false
        }
    }

    private static func configuration(_ location: PostgresLocation, password: String?, trust: TrustSettings) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch location.sslMode {
        case .disable:
            tls = .disable
        case .prefer, .require:
            var unchecked = TLSConfiguration.makeClientConfiguration()
            unchecked.certificateVerification = .none
            let context = try NIOSSLContext(configuration: unchecked)
            tls = location.sslMode == .prefer ? .prefer(context) : .require(context)
        case .verifyFull:
            tls = .require(try NIOSSLContext(configuration: trust.tlsConfiguration))
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(Int64(location.connectTimeout))
        configuration.options.additionalStartupParameters = [("application_name", "batch-runner")]
        return configuration
    }

    /// What a person can act on: the server's own words (wrong password, no such database), or the network's.
    static func describeConnectFailure(_ error: any Error, location: PostgresLocation) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState] ?? ""
                switch state {
                case "28P01", "28000": return "the server refused the login (\(message)); check the user and the password variable"
                case "3D000": return "the server has no such database (\(message))"
                default: return "the server refused the connection (\(message))"
                }
            }
            switch error.code {
            case .authMechanismRequiresPassword: return "the server asks for a password and none was given; set the variable named by state_password_env (default PGPASSWORD)"
            case .sslUnsupported: return "the server does not offer TLS, which sslmode=\(location.sslMode.rawValue) requires"
            case .connectionError: return "cannot connect (\(describeUnderlying(error.underlying)))"
            default: return "the connection failed (\(error.code))"
            }
        }
        return "the connection failed (\(error))"
    }

    private static func describeUnderlying(_ error: (any Error)?) -> String {
        guard let error else { return "no reason given" }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? BoringSSLError { return "TLS: \(error)" }
        if let error = error as? IOError { return error.description }
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused: is the server running on that port?" }
        if text.contains("connectTimeout") { return "no answer within the connect timeout" }
        return text
    }
}
