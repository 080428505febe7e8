import Foundation

extension JobFile {
    /// Reads `idscan:`; the keys of the other ID Scan kind are refused, so a misplaced option is not ignored.
    static func idscanOptions(_ root: inout YAMLObject, kind: JobConfiguration.Kind) throws(JobError) -> JobConfiguration.IDScanOptions {
        typealias Options = JobConfiguration.IDScanOptions
        var options = Options()
        guard var object = try root.object("idscan") else { return options }
        switch kind {
        case .idscanReports:
            if let text = try object.string("report") {
                guard let report = Options.Report(rawValue: text) else {
                    throw object.error("report", "`\(text)` is not a report type; use simple, extended or both")
                }
                options.report = report
            }
            options.fallbackToSimple = try object.bool("fallback_to_simple") ?? options.fallbackToSimple
            if let fields = try object.strings("result_fields") {
                for field in fields where !Self.isFieldName(field) {
                    throw object.error("result_fields", "has `\(field)`, which is not a result field name (lowercase letters, digits and _, such as document_number)")
                }
                guard Set(fields).count == fields.count else {
                    throw object.error("result_fields", "names a field twice")
                }
                options.resultFields = fields
            }
            options.images = try object.bool("images") ?? options.images
        case .idscanCreate:
            if let tasks = try object.strings("tasks") {
                guard Options.taskSets.contains(tasks) else {
                    let sets = Options.taskSets.map { "[\($0.joined(separator: ", "))]" }.joined(separator: ", ")
                    throw object.error("tasks", "[\(tasks.joined(separator: ", "))] is not a task set ID Scan accepts; use one of \(sets) (in that order)")
                }
                options.tasks = tasks
            }
            if let locale = try object.string("locale") {
                guard Options.locales.contains(locale) else {
                    throw object.error("locale", "`\(locale)` is not a locale ID Scan supports; use \(Options.locales.joined(separator: ", "))")
                }
                options.locale = locale
            }
            options.mobileOnly = try object.bool("mobile_only")
            options.expiresIn = try object.integer("expires_in", in: Options.expiresInRange)
            for key in ["return_url", "scan_return_url"] {
                guard let url = try object.string(key) else { continue }
                let probe = url.replacingOccurrences(of: "{key}", with: "key")
                guard let components = URLComponents(string: probe), let scheme = components.scheme?.lowercased(),
                    scheme == "https" || (scheme == "http" && EndpointPolicy.isLoopback(components.host ?? "")),
                    components.host?.isEmpty == false
                else {
                    throw object.error(key, "must be an absolute https:// URL (`{key}` fills in the row's key), not `\(url)`")
                }
                if key == "return_url" { options.returnURL = url } else { options.scanReturnURL = url }
            }
        case .numberVerify, .pimQR:
            throw root.error("idscan", "applies to kinds idscan-reports and idscan-create only")
        }
        try object.finish()
        return options
    }

    private static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }
}
