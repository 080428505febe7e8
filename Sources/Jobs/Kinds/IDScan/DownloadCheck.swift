/// Checks that a downloaded file is what it claims to be before it counts.
enum DownloadCheck {
    /// Why `body` is not a complete PDF, or nil when it is: a PDF content type, the `%PDF-` header and the `%%EOF`
    /// trailer (only line ends and spaces may follow it).
    static func pdfProblem(body: [UInt8], contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("application/pdf") else {
            return "the answer is \(contentType.map { "`\($0.prefix(60))`" } ?? "untyped"), not application/pdf"
        }
        guard body.starts(with: Array("%PDF-".utf8)) else { return "the answer does not start with %PDF-" }
        var end = body.endIndex
        while end > body.startIndex, [0x0A, 0x0D, 0x20, 0x00].contains(body[end - 1]) { end -= 1 }
        guard end - body.startIndex >= 5, body[(end - 5)..<end].elementsEqual(Array("%%EOF".utf8)) else {
            return "the PDF is incomplete (no %%EOF trailer; \(body.count) bytes)"
        }
        return nil
    }

    /// The file extension for an image content type, or nil when it is not an image.
    static func imageExtension(contentType: String?) -> String? {
        guard let type = contentType?.lowercased().split(separator: ";").first?.trimmingSpaces(), type.hasPrefix("image/") else {
            return nil
        }
        switch type {
        case "image/jpeg", "image/jpg": return "jpg"
        case "image/png": return "png"
        case "image/gif": return "gif"
        case "image/webp": return "webp"
        case "image/tiff": return "tif"
        default: return "img"
        }
    }
}
