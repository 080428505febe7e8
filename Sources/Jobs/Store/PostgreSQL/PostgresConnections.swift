import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// A worker's few connections to the PostgreSQL state, each lent to one operation at a time.
///
/// Not a reconnecting pool on purpose: a connection lost mid-run ends the run (exit 75, everything committed
/// stays), it is never silently replaced while rows are in flight (the heartbeat alone opens a new one). Nothing
/// waits on the database without a bound:
/// - every operation, the wait for a connection included, has the deadline `state_timeout`; past it every
///   connection is closed, which fails whatever waits on them, and the operation counts as a lost connection;
/// - statements are written only on a connection that is open (see ``StateConnection``), and a transaction whose
///   connection was lost is never rolled back over it;
/// - a connection that is lost or closed is never lent again; waiting for one ends on loss and on cancellation.
///
/// Errors leave here as ``StoreError``: `databaseUnavailable` while connecting; `connectionLost` or
/// `stateTimedOut` after; a server error by its SQLSTATE class. Deadlocks and serialization failures are retried
/// in transactions that may run again.
final class PostgresConnections: Sendable {
    /// How an operation uses its connection.
    enum Transaction: Sendable {
        /// Statements on their own.
        case none
        /// One transaction.
        case once
        /// One transaction, run again (a bounded number of times) after a deadlock or a serialization failure:
        /// the body must do nothing but statements.
        case retryingConflicts
    }

    private struct State {
        var free: [PostgresConnection]
        var waiters: [(id: UInt64, continuation: CheckedContinuation<PostgresConnection, any Error>)] = []
        var nextWaiter: UInt64 = 0
        /// Why no operation can run any more: the first loss (or timeout) recorded.
        var loss: StoreError?
    }

    let location: PostgresLocation
    let logger: Logger
    /// How long an operation may take (`state_timeout`).
    let timeout: Duration
    let clock: EngineClock
    /// The worker's lease: an operation that outlived it was held up by a pause of this process as likely as by the
    /// database, and ends as a lost lease.
    private let lease: WorkerLease?
    private let state: Mutex<State>
    private let all: [PostgresConnection]
    /// Runs of a transaction that may run again after a deadlock or a serialization failure.
    static let conflictAttempts = 5

    /// Opens `count` connections, named `batch-runner[<pid>]` (plus `role`) in `pg_stat_activity`, so a DBA sees
    /// which worker, and which of its connections, a session is.
    ///
    /// - Parameters:
    ///   - timeout: The deadline of every operation (`state_timeout`).
    ///   - role: What the connections are for (`heartbeat`), or empty.
    /// - Throws: ``StoreError/databaseUnavailable(location:reason:)`` naming what the server or network said.
    static func open(
        _ location: PostgresLocation, password: String?, trust: TrustSettings, count: Int, timeout: Duration,
        clock: EngineClock, lease: WorkerLease? = nil, role: String = "", logger: Logger
    ) async throws -> PostgresConnections {
        var configuration = try Self.configuration(location, password: password, trust: trust)
        let name = "batch-runner[\(getpid())]" + (role.isEmpty ? "" : " " + role)
        configuration.options.additionalStartupParameters = [("application_name", name)]
        var opened: [PostgresConnection] = []
        do {
            for index in 0..<count {
                opened.append(try await PostgresConnection.connect(configuration: configuration, id: index, logger: logger))
            }
        } catch {
            for connection in opened { try? await connection.close() }
            // 57P03: the server is starting up or shutting down (a restart): transient, so resumable, not 69.
            if let error = error as? PSQLError, error.serverInfo?[.sqlState] == "57P03" {
                throw StoreError.connectionLost(location: location.description, operation: "connect while the server was starting up or shutting down")
            }
            throw StoreError.databaseUnavailable(location: location.description, reason: Self.describeConnectFailure(error, location: location))
        }
        return PostgresConnections(location: location, connections: opened, timeout: timeout, clock: clock, lease: lease, logger: logger)
    }

    private init(
        location: PostgresLocation, connections: [PostgresConnection], timeout: Duration, clock: EngineClock, lease: WorkerLease?,
        logger: Logger
    ) {
        self.lease = lease
        self.location = location
        self.logger = logger
        self.timeout = timeout
        self.clock = clock
        self.all = connections
        self.state = Mutex(State(free: connections))
        // A connection the server or the network closed fails every operation from then on, also those already
        // waiting for a connection: nothing waits on a database that is gone.
        for connection in connections {
            connection.closeFuture.whenComplete { [weak self] _ in
                guard let self else { return }
                self.fail(StoreError.connectionLost(location: self.location.description, operation: "use a connection the server closed"))
            }
        }
    }

    deinit {
        // A store dropped without ``close()`` (a test, an early error): each connection closes on its event loop
        // and is kept until it has (postgres-nio asserts that a connection is closed before it goes).
        for connection in all {
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    /// Whether an operation can still run (no connection was lost, none timed out).
    var isUsable: Bool { state.withLock { $0.loss == nil } }

    /// Runs `body` on a connection of its own, within `state_timeout` (or `timeout`, for an intake).
    ///
    /// - Parameter operation: What the worker is doing, for the message that ends the run ("commit finished rows").
    func with<T: Sendable>(
        _ operation: String, transaction: Transaction = .none, timeout: Duration? = nil, _ body: (StateConnection) async throws -> T
    ) async throws -> T {
        try await bounded(operation, timeout: timeout) {
            let connection = try await lease()
            defer { release(connection) }
            return try await perform(on: connection, transaction: transaction, body)
        }
    }

    /// Holds one connection for the whole of `body` (a session lock held while other operations run); each use of
    /// it through ``on(_:_:_:)`` has its own deadline, and so has the wait for it.
    func withHeldConnection<T>(_ operation: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await bounded(operation, timeout: nil) { try await lease() }
        defer { release(connection) }
        return try await body(connection)
    }

    /// Runs `body` on a connection that ``withHeldConnection(_:_:)`` holds, within `state_timeout`.
    func on<T: Sendable>(_ connection: PostgresConnection, _ operation: String, _ body: (StateConnection) async throws -> T) async throws -> T {
        try await bounded(operation, timeout: nil) {
            try await perform(on: connection, transaction: .none, body)
        }
    }

    /// `body` within the deadline; past it every connection closes. Errors leave as ``StoreError``.
    private func bounded<T>(_ operation: String, timeout: Duration?, _ body: () async throws -> T) async throws -> T {
        let (location, timeout) = (self.location.description, timeout ?? self.timeout)
        do {
            return try await Deadline.run(timeout: timeout, clock: clock, onTimeout: { [self] in
                if let lease, lease.hasExpired(at: clock.now) {
                    lease.markLost()
                    fail(lease.lostError, closing: true)
                } else {
                    fail(StoreError.stateTimedOut(location: location, operation: operation, timeout: timeout), closing: true)
                }
            }) {
                try await body()
            }
        } catch {
            throw translate(error, operation: operation)
        }
    }

    /// Closes every connection (a closed store reports a lost connection to anyone still asking).
    func close() async {
        fail(StoreError.connectionLost(location: location.description, operation: "use the state after it was closed"))
        for connection in all { try? await connection.close() }
    }

    private func perform<T: Sendable>(on connection: PostgresConnection, transaction: Transaction, _ body: (StateConnection) async throws -> T) async throws -> T {
        let session = StateConnection(connection: connection, logger: logger)
        if transaction == .none { return try await body(session) }
        var attempt = 1
        while true {
            try await session.query("BEGIN")
            do {
                let value = try await body(session)
                try await session.query("COMMIT")
                return value
            } catch {
                // Over a lost connection nothing more is written (the server rolls back on its own).
                if isLoss(error) || session.isClosed { throw error }
                try? await session.query("ROLLBACK")
                guard transaction == .retryingConflicts, attempt < Self.conflictAttempts, Self.isConflict(error) else { throw error }
                attempt += 1
                logger.debug("transaction conflicted; running it again", metadata: ["postgres.sqlstate": "\(Self.sqlState(error) ?? "")"])
                try await clock.sleep(for: .milliseconds(Int64(5 << attempt) + Int64.random(in: 0..<10)))
            }
        }
    }

    private func lease() async throws -> PostgresConnection {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresConnection, any Error>) in
                let ready = state.withLock { state -> Result<PostgresConnection, any Error>? in
                    if let loss = state.loss { return .failure(loss) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let connection = state.free.popLast() { return .success(connection) }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<PostgresConnection, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives a connection back: to the first waiter, or to the free ones; a closed one is never lent again (its
    /// loss fails everyone).
    private func release(_ connection: PostgresConnection) {
        if connection.isClosed {
            fail(StoreError.connectionLost(location: location.description, operation: "use a connection the server closed"))
            return
        }
        let waiter = state.withLock { state -> CheckedContinuation<PostgresConnection, any Error>? in
            guard state.loss == nil else { return nil }
            if state.waiters.isEmpty {
                state.free.append(connection)
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: connection)
    }

    /// Records why nothing more can run (the first reason stays) and fails every waiter; with `closing`, closes
    /// every connection, which fails the statements in flight.
    private func fail(_ loss: StoreError, closing: Bool = false) {
        let waiters = state.withLock { state in
            if state.loss == nil { state.loss = loss }
            state.free.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        let recorded = state.withLock { $0.loss } ?? loss
        for waiter in waiters { waiter.resume(throwing: recorded) }
        if closing {
            for connection in all { connection.close().whenComplete { _ in } }
        }
    }

    private func isLoss(_ error: any Error) -> Bool {
        if error is StateConnection.Closed { return true }
        if let error = error as? PSQLError { return Self.isConnectionLoss(error) }
        return error is StoreError
    }

    /// A lost connection becomes ``StoreError/connectionLost(location:operation:)`` (or the timeout that closed
    /// it), and every later lease fails the same way; a server's error is sorted by its SQLSTATE class.
    private func translate(_ error: any Error, operation: String) -> any Error {
        let location = self.location.description
        if error is Deadline.DeadlineExceeded || error is StateConnection.Closed {
            return lossRecorded(or: .connectionLost(location: location, operation: operation))
        }
        if error is StoreError || error is CancellationError { return error }
        guard let error = error as? PSQLError else { return error }
        if Self.isConnectionLoss(error) {
            let loss = StoreError.connectionLost(location: location, operation: operation)
            fail(loss)
            return lossRecorded(or: loss)
        }
        guard let message = error.serverInfo?[.message] else {
            return StoreError.databaseFailed(location: location, sqlState: "none", message: "\(error.code)")
        }
        let sqlState = error.serverInfo?[.sqlState] ?? ""
        if sqlState.hasPrefix("28") || sqlState == "42501" { return StoreError.databaseRefused(location: location, message: message) }
        if sqlState == "53100" { return StoreError.databaseFull(location: location, message: message) }
        return StoreError.databaseFailed(location: location, sqlState: sqlState, message: message)
    }

    private func lossRecorded(or loss: StoreError) -> StoreError {
        state.withLock { $0.loss } ?? loss
    }
}
