import Foundation

/// A PostgreSQL state URL, as libpq reads one: `postgresql://user@host[:port]/database[?sslmode=...]`.
///
/// The password never comes from the URL (a job file is no place for it): a URL that carries one is refused, and
/// the password is read from the environment variable `state_password_env` names. ``description`` is what
/// messages show: no password, no query.
package struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is protected, as libpq's `sslmode` (`verify-ca` and `allow` are not offered).
    package enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, unchecked; plain otherwise (libpq's default).
        case prefer
        /// TLS, the certificate not checked.
        case require
        /// TLS, the certificate checked against the trusted CAs (`http.ca_file`, `SSL_CERT_FILE`, the system's)
        /// and the host name.
        case verifyFull = "verify-full"
    }

    package var user: String
    package var host: String
    package var port: Int
    package var database: String
    package var sslMode: SSLMode
    /// Whether the URL names `sslmode`; without it the mode is ``defaultSSLMode(host:)``.
    package var sslModeIsExplicit: Bool
    /// Seconds to wait for the server to accept a connection (`connect_timeout`, default 10).
    package var connectTimeout: Int

    package var description: String { "postgresql://\(user)@\(HostNames.authority(host, port: port))/\(database)" }

    /// - Throws: ``StoreError/invalidLocation(_:)`` naming what is wrong, never quoting a password.
    package init(url: String) throws(StoreError) {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw .invalidLocation("is not a PostgreSQL URL; write postgresql://user@host:port/database")
        }
        guard components.password == nil else {
            throw .invalidLocation("carries a password; remove it from the URL and put it in the environment variable named by state_password_env (default PGPASSWORD)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .invalidLocation("names no user; write postgresql://user@host:port/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw .invalidLocation("names no database; write postgresql://user@host:port/database")
        }
        self.user = user.removingPercentEncoding ?? user
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = Self.defaultSSLMode(host: self.host)
        self.sslModeIsExplicit = false
        self.connectTimeout = 10
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    let modes = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw .invalidLocation("has sslmode=\(value.prefix(20)); use one of \(modes)")
                }
                sslMode = mode
                sslModeIsExplicit = true
            case "connect_timeout":
                guard let seconds = Int(value), (1...300).contains(seconds) else {
                    throw .invalidLocation("has connect_timeout=\(value.prefix(20)); use whole seconds from 1 to 300")
                }
                connectTimeout = seconds
            case "application_name":
                continue
            default:
                throw .invalidLocation("has the parameter \(item.name.prefix(40)), which batch-runner does not read; it reads sslmode, connect_timeout and application_name")
            }
        }
    }

    /// The mode when the URL names none: `verify-full` for a host reached over a network, as the API side asks
    /// for verified TLS; libpq's `prefer` for the loopback interface and a socket folder, which never leave
    /// this machine.
    package static func defaultSSLMode(host: String) -> SSLMode {
        isLocal(host) ? .prefer : .verifyFull
    }

    /// What a weaker mode the URL names gives up, for a warning at start; nil when the connection is verified
    /// or never leaves this machine.
    package var weakTLSWarning: String? {
        guard sslModeIsExplicit, sslMode != .verifyFull, !Self.isLocal(host) else { return nil }
        let givesUp = switch sslMode {
        case .disable: "the connection is not encrypted: anyone on the network path can read the state's rows and the password"
        case .prefer: "TLS is used only when the server offers it, and its certificate is not checked: anyone on the network path can pose as the server, read the state's rows and take the password"
        case .require, .verifyFull: "the server's certificate is not checked: anyone on the network path can pose as the server, read the state's rows and take the password"
        }
        return "the state URL asks for sslmode=\(sslMode.rawValue) to \(HostNames.authority(host, port: port)): \(givesUp). Use sslmode=verify-full (the default), trusting the server's CA through http.ca_file or SSL_CERT_FILE"
    }

    private static func isLocal(_ host: String) -> Bool {
        host.hasPrefix("/") || EndpointPolicy.isLoopback(host)
    }
}
