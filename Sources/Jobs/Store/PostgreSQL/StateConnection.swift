import Logging
import NIOCore
import PostgresNIO

/// A connection lent to one store operation: every statement is written on the connection's event loop after
/// checking there that it is still open. postgres-nio 1.33 never answers a statement written to a channel that has
/// already closed (it writes with `promise: nil`), so a statement sent after a lost connection would wait forever;
/// checked on the event loop, the check and the write cannot be separated by the close.
struct StateConnection: Sendable {
    /// The channel was closed before the statement could be written.
    struct Closed: Error {}

    let connection: PostgresConnection
    let logger: Logger

    /// Runs `query` and collects its rows (every read pages its results, so none is large).
    ///
    /// - Throws: ``Closed``, or postgres-nio's `PSQLError`.
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger? = nil) async throws -> StateRows {
        let (connection, logger) = (self.connection, logger ?? self.logger)
        let result = try await connection.eventLoop.flatSubmit { () -> EventLoopFuture<PostgresQueryResult> in
            guard !connection.isClosed else { return connection.eventLoop.makeFailedFuture(Closed()) }
            return connection.query(query, logger: logger)
        }.get()
        return StateRows(result: result)
    }

    /// `COPY table (columns) FROM STDIN` with what `writeData` writes (the intake; bounded by the operation's
    /// deadline, which closes the connection).
    func copyFrom(
        table: String, columns: [String], logger: Logger,
        writeData: (PostgresCopyFromWriter) async throws -> Void
    ) async throws {
        guard !connection.isClosed else { throw Closed() }
        try await connection.copyFrom(table: table, columns: columns, logger: logger, writeData: writeData)
    }

    var isClosed: Bool { connection.isClosed }
}

/// The rows of a statement, collected.
struct StateRows: Sendable {
    let result: PostgresQueryResult

    var count: Int { result.count }

    func decode<Column: PostgresDecodable>(_: Column.Type) throws -> [Column] {
        try result.map { try $0.decode(Column.self) }
    }

    func decode<each Column: PostgresDecodable>(_: (repeat each Column).Type) throws -> [(repeat each Column)] {
        try result.map { try $0.decode((repeat each Column).self) }
    }
}
