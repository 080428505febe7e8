import Foundation

/// Reads PiM's `/image` answer: a Base64-encoded SVG, framed as bare Base64 text, a JSON string, or a JSON object
/// holding the Base64 string in one of its fields (the framing is unconfirmed upstream, so all three are read).
enum SVGAnswer {
    /// The decoded SVG document, or nil when the answer does not hold one.
    static func decode(_ body: [UInt8]) -> [UInt8]? {
        for candidate in base64Candidates(body) {
            if let bytes = Data(base64Encoded: candidate, options: .ignoreUnknownCharacters), isSVG(Array(bytes)) {
                return Array(bytes)
            }
        }
        return nil
    }

    private static func base64Candidates(_ body: [UInt8]) -> [String] {
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = text.first else { return [] }
        if first == "\"" || first == "{" || first == "[" {
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
                return []
            }
            if let string = object as? String { return [string] }
            if let dictionary = object as? [String: Any] {
                return dictionary.keys.sorted().compactMap { dictionary[$0] as? String }
            }
            return []
        }
        return [text]
    }

    /// Whether `bytes` are an SVG document: optional BOM, XML declaration, comments and doctype, then `<svg`,
    /// and a closing `</svg>`.
    static func isSVG(_ bytes: [UInt8]) -> Bool {
        guard var text = String(validating: bytes, as: UTF8.self) else { return false }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var rest = Substring(text).drop { $0.isWhitespace }
        while rest.hasPrefix("<?") || rest.hasPrefix("<!--") || rest.hasPrefix("<!DOCTYPE") || rest.hasPrefix("<!doctype") {
            let end = rest.hasPrefix("<!--") ? "-->" : ">"
            guard let range = rest.range(of: end) else { return false }
            rest = rest[range.upperBound...].drop { $0.isWhitespace }
        }
        return rest.hasPrefix("<svg") && text.range(of: "</svg>") != nil
    }
}
