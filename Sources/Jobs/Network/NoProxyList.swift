/// The hosts that bypass the proxy: `http.no_proxy`, or `no_proxy` / `NO_PROXY` (comma-separated).
///
/// - `*` matches every host.
/// - `example.com` and `.example.com` both match `example.com` and every subdomain of it.
/// - An IP literal (`10.1.2.3`, `::1`, `[::1]`) matches that address only; there are no CIDR ranges.
/// - `entry:port` matches only connections to that port.
///
/// There is no implicit bypass: loopback goes through the proxy unless an entry names it (as with curl).
package struct NoProxyList: Sendable, Equatable {
    package struct Entry: Sendable, Equatable {
        /// Lower-cased, without a leading dot, brackets or a trailing dot; `*` for every host.
        package var host: String
        package var port: Int?
    }

    package var entries: [Entry]

    package init(_ texts: [String]) {
        entries = texts.flatMap { $0.split(separator: ",") }.compactMap(Self.entry)
    }

    /// A comma-separated list, as in the environment.
    package init(environmentValue: String) {
        self.init([environmentValue])
    }

    /// Whether a connection to `host` on `port` goes direct.
    package func bypasses(host: String, port: Int) -> Bool {
        let host = Self.normalised(host)
        return entries.contains { entry in
            if let entryPort = entry.port, entryPort != port { return false }
            if entry.host == "*" { return true }
            return host == entry.host || (!HostNames.isIPLiteral(entry.host) && host.hasSuffix("." + entry.host))
        }
    }

    /// One entry; nil for an empty one or one whose port is not a number (skipped, rather than read as "every
    /// port").
    private static func entry(_ text: Substring) -> Entry? {
        var text = text.trimmingSpaces()
        guard !text.isEmpty else { return nil }
        var port: Int?
        if text.hasPrefix("[") {
            // [::1] or [::1]:8443
            guard let close = text.firstIndex(of: "]") else { return nil }
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { return nil }
                port = number
            }
            text = String(text[...close])
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.lastIndex(of: ":") {
            guard let number = Int(text[text.index(after: colon)...]) else { return nil }
            port = number
            text = String(text[..<colon])
        }
        let host = normalised(text.hasPrefix(".") ? String(text.dropFirst()) : text)
        return host.isEmpty ? nil : Entry(host: host, port: port)
    }

    private static func normalised(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        while host.hasSuffix(".") { host.removeLast() }
        return host
    }
}
