import Foundation

extension JobConfiguration.IDScanOptions: JobFileSection {
    static let key = "idscan"
    static let kinds: [JobConfiguration.Kind] = [.idscanReports, .idscanCreate]

    /// Reads `idscan:`; the keys of the other ID Scan kind are refused, so a misplaced option is not ignored.
    mutating func read(_ object: inout YAMLObject, kind: JobConfiguration.Kind) throws(JobFileError) {
        typealias Options = JobConfiguration.IDScanOptions
        switch kind {
        case .idscanReports:
            if let text = try object.string("report") {
                guard let report = Options.Report(rawValue: text) else {
                    throw object.error("report", "`\(text)` is not a report type; use simple, extended or both")
                }
                self.report = report
            }
            self.fallbackToSimple = try object.bool("fallback_to_simple") ?? self.fallbackToSimple
            if let fields = try object.strings("result_fields") {
                for field in fields where !Self.isFieldName(field) {
                    throw object.error("result_fields", "has `\(field)`, which is not a result field name (lowercase letters, digits and _, such as document_number)")
                }
                guard Set(fields).count == fields.count else {
                    throw object.error("result_fields", "names a field twice")
                }
                self.resultFields = fields
            }
            self.images = try object.bool("images") ?? self.images
        case .idscanCreate:
            if let tasks = try object.strings("tasks") {
                guard Options.taskSets.contains(tasks) else {
                    let sets = Options.taskSets.map { "[\($0.joined(separator: ", "))]" }.joined(separator: ", ")
                    throw object.error("tasks", "[\(tasks.joined(separator: ", "))] is not a task set ID Scan accepts; use one of \(sets) (in that order)")
                }
                self.tasks = tasks
            }
            if let locale = try object.string("locale") {
                guard Options.locales.contains(locale) else {
                    throw object.error("locale", "`\(locale)` is not a locale ID Scan supports; use \(Options.locales.joined(separator: ", "))")
                }
                self.locale = locale
            }
            self.mobileOnly = try object.bool("mobile_only")
            self.expiresIn = try object.integer("expires_in", in: Options.expiresInRange)
            for key in ["return_url", "scan_return_url"] {
                guard let url = try object.string(key) else { continue }
                let probe = url.replacingOccurrences(of: "{key}", with: "key")
                guard let components = URLComponents(string: probe), let scheme = components.scheme?.lowercased(),
                    scheme == "https" || (scheme == "http" && EndpointPolicy.isLoopback(components.host ?? "")),
                    components.host?.isEmpty == false
                else {
                    throw object.error(key, "must be an absolute https:// URL (`{key}` fills in the row's key), not `\(url)`")
                }
                if key == "return_url" { self.returnURL = url } else { self.scanReturnURL = url }
            }
        case .numberVerify, .pimQR:
            break  // JobFile refuses the section for these kinds before reading it.
        }
    }

    private static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }
}
