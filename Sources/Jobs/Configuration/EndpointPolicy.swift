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

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }
}
