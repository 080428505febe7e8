/// How hosts are written and told apart, the same way wherever a host is connected to or named.
enum HostNames {
    /// Whether `host` is an IP address rather than a name (`10.0.0.7`, `::1`, `[::1]`).
    static func isIPLiteral(_ host: String) -> Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0.isNumber || $0 == "." })
    }

    /// `host` without the brackets a URL puts around an IPv6 address: what a connection is opened to.
    static func bare(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// `host:port` for messages and CONNECT, an IPv6 address in brackets (`[::1]:8443`).
    static func authority(_ host: String, port: Int) -> String {
        let host = bare(host)
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
