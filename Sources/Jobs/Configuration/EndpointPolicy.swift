import Foundation

/// Which endpoint URLs a job may use: `https://` anywhere, `http://` only on the loopback interface.
enum EndpointPolicy {
    /// Why `url` may not be used, or nil when it may.
    static func problem(with url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return "`\(url)` is not an absolute URL" }
        if components.user != nil || components.password != nil {
            return "must not carry credentials; name environment variables under `credentials` instead"
        }
        switch scheme {
        case "https": return nil
        case "http": return isLoopback(host) ? nil : "uses http:// for a host other than loopback; use https://"
        default: return "must be an https:// URL"
        }
    }

    /// Whether `host` is the loopback interface: an IPv4 literal in 127.0.0.0/8, the IPv6 literal `::1`, or exactly
    /// `localhost`. The host is parsed, never matched by prefix: `127.attacker.example` and `127.0.0.1.nip.io` are
    /// names anyone can point anywhere, and a client secret sent to them would travel in clear.
    static func isLoopback(_ host: String) -> Bool {
        var bare = host.lowercased()
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        if bare == "localhost" { return true }
        var ipv4 = in_addr()
        if inet_pton(AF_INET, bare, &ipv4) == 1 {
            return UInt32(bigEndian: ipv4.s_addr) >> 24 == 127
        }
        var ipv6 = in6_addr()
        guard inet_pton(AF_INET6, bare, &ipv6) == 1 else { return false }
        return withUnsafeBytes(of: &ipv6) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
    }
}
