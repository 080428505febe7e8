import Foundation

/// An HTTP proxy: `http://[user:password@]host:port`, as `http.proxy` or `https_proxy` give it.
///
/// Only plain-HTTP proxies exist here (TLS to the API runs inside a CONNECT tunnel, as with curl's default);
/// a missing port means 1080, curl's default. User and password are percent-decoded and sent as
/// `Proxy-Authorization: Basic`. The password never leaves this value except towards the proxy: ``masked`` is
/// how every message names the proxy.
package struct ProxyServer: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    package var host: String
    package var port: Int
    package var username: String?
    package var password: String?

    package init(host: String, port: Int, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    /// `http://user:***@host:port`, or `http://host:port`: safe for logs and messages.
    package var masked: String {
        let credentials = username.map { "\(Self.encode($0)):***@" } ?? ""
        return "http://\(credentials)\(HostNames.authority(host, port: port))"
    }

    /// `Proxy-Authorization` for this proxy's credentials (`Basic ...`); nil without a user.
    package var basicAuthorization: String? {
        username.map { "Basic " + Data("\($0):\(password ?? "")".utf8).base64EncodedString() }
    }

    /// The masked form: string interpolation and test output never show the password either.
    package var description: String { masked }
    package var debugDescription: String { masked }

    /// Reads a proxy URL.
    ///
    /// - Returns: The proxy, or why `text` is not one (without the text's password, which must not be echoed).
    package static func parse(_ text: String) -> Result<ProxyServer, ProxyURLProblem> {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if let range = rest.range(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" else {
                return .failure(ProxyURLProblem(scheme == "https" || scheme.hasPrefix("socks")
                    ? "a \(scheme):// proxy is not supported; use the proxy's plain http:// address (https to the API still runs end to end, through a CONNECT tunnel)"
                    : "`\(scheme)://` is not a proxy scheme; write http://host:port"))
            }
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...].allSatisfy({ $0 == "/" }) else {
                return .failure(ProxyURLProblem("a proxy URL has no path; write http://host:port"))
            }
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = parts[0].removingPercentEncoding, parts.count < 2 || parts[1].removingPercentEncoding != nil else {
                return .failure(ProxyURLProblem("the proxy's user or password is not valid percent-encoding"))
            }
            username = user
            password = parts.count == 2 ? parts[1].removingPercentEncoding : ""
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return .failure(ProxyURLProblem("an IPv6 proxy host lacks its closing `]`")) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(ProxyURLProblem("expected `:port` after the IPv6 proxy host")) }
                portText = after.dropFirst()
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            return .failure(ProxyURLProblem("an IPv6 proxy address goes in brackets: http://[::1]:3128"))
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-._:".contains($0) }) else {
            return .failure(ProxyURLProblem("it names no proxy host; write http://host:port"))
        }
        var port = 1080
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                // The text is not quoted: `http://user:secret` (host forgotten) puts the password here.
                return .failure(ProxyURLProblem("the port is not a number from 1 to 65535 (write http://[user:password@]host:port)"))
            }
            port = number
        }
        return .success(ProxyServer(host: String(host), port: port, username: username, password: password))
    }

    private static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

/// Why a text is not a proxy URL. Never quotes the URL itself, which may hold a password.
package struct ProxyURLProblem: Error, Sendable, Equatable {
    package var description: String

    init(_ description: String) {
        self.description = description
    }
}
