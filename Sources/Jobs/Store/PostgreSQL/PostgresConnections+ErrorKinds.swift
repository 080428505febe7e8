import PostgresNIO

/// Which server errors are a lost connection, and which a conflict a transaction may simply run again.
extension PostgresConnections {
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

    /// A deadlock (40P01) or a serialization failure (40001): the transaction may simply run again.
    static func isConflict(_ error: any Error) -> Bool {
        sqlState(error).map { $0 == "40P01" || $0 == "40001" } ?? false
    }

    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
