import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// How a worker's connections are set up, and what a failed connect tells the person who must act on it.
extension PostgresConnections {
    static func configuration(_ location: PostgresLocation, password: String?, trust: TrustSettings) throws -> PostgresConnection.Configuration {
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
