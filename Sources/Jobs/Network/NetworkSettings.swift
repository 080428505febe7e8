package import Foundation

/// How a run reaches the APIs: the proxy for each scheme, the hosts that bypass it, and the extra trusted CAs.
///
/// The job file wins where it sets a key (`http.proxy`, `http.no_proxy`, `http.ca_file`); the environment fills
/// in the rest, because neither AsyncHTTPClient nor swift-nio-ssl reads it on Linux:
/// - `https_proxy` / `HTTPS_PROXY` for https endpoints. `http_proxy` and `HTTP_PROXY` are ignored: an http
///   endpoint (loopback only, see `EndpointPolicy`) never goes through a proxy, which would receive the client
///   secret in clear on its own host; `http.proxy` set for a job with such an endpoint is refused (`JobFile`);
/// - `no_proxy` / `NO_PROXY`;
/// - `SSL_CERT_FILE` and `SSL_CERT_DIR` (added to `http.ca_file`, never replaced by it).
package struct NetworkSettings: Sendable {
    /// Where a proxy setting came from, for messages: `http.proxy`, `https_proxy`, ...
    package struct Proxy: Sendable, Equatable {
        package var server: ProxyServer
        package var origin: String
    }

    /// The proxy of https endpoints; http endpoints never use one.
    package var httpsProxy: Proxy?
    package var noProxy: NoProxyList
    package var trust: TrustSettings

    /// Direct connections, the system's roots only: what tests and the sandbox use.
    package init(httpsProxy: Proxy? = nil, noProxy: NoProxyList = NoProxyList([]), trust: TrustSettings = TrustSettings()) {
        self.httpsProxy = httpsProxy
        self.noProxy = noProxy
        self.trust = trust
    }

    /// The settings of `http` completed from `environment`.
    ///
    /// - Throws: ``JobFileError`` naming the variable (a malformed proxy URL in the environment) or the key and
    ///   file (a CA file that holds no certificate).
    package static func resolve(_ http: JobConfiguration.HTTP, environment: [String: String]) throws(JobFileError) -> NetworkSettings {
        func variable(_ names: String...) -> (name: String, value: String)? {
            for name in names {
                if let value = environment[name], !value.trimmingCharacters(in: .whitespaces).isEmpty { return (name, value) }
            }
            return nil
        }
        func proxy(from variable: (name: String, value: String)?) throws(JobFileError) -> Proxy? {
            guard let variable else { return nil }
            switch ProxyServer.parse(variable.value) {
            case .success(let server): return Proxy(server: server, origin: variable.name)
            case .failure(let problem):
                throw JobFileError("The environment variable \(variable.name) is not a proxy URL: \(problem.description). Fix or unset it, or set http.proxy in the job file (`none` ignores the environment).")
            }
        }
        var settings = NetworkSettings()
        switch http.proxy {
        case .some(.none):
            break
        case .some(.server(let server)):
            settings.httpsProxy = Proxy(server: server, origin: "http.proxy")
        case nil:
            settings.httpsProxy = try proxy(from: variable("https_proxy", "HTTPS_PROXY"))
        }
        if let noProxy = http.noProxy {
            settings.noProxy = NoProxyList(noProxy)
        } else if let noProxy = variable("no_proxy", "NO_PROXY") {
            settings.noProxy = NoProxyList(environmentValue: noProxy.value)
        }
        settings.trust = try TrustSettings.load(caFile: http.caFile, environment: environment)
        return settings
    }

    /// How long one connection attempt may take within a request's `timeout`: 10 s, or half the timeout when
    /// that is shorter, so that a connection failure is told apart from a slow answer.
    static func connectTimeout(within timeout: Duration) -> Duration {
        min(.seconds(10), timeout / 2)
    }

    /// The proxy a request to `url` goes through, or nil to connect directly (always for an http URL).
    package func proxy(for url: URLComponents) -> Proxy? {
        guard url.scheme?.lowercased() == "https", let host = url.host, let httpsProxy else { return nil }
        return noProxy.bypasses(host: host, port: url.port ?? 443) ? nil : httpsProxy
    }
}
