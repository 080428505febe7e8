import Foundation

extension JobConfiguration {
    /// Options of the `idscan-reports` and `idscan-create` kinds: `idscan:` in the job file.
    public struct IDScanOptions: Sendable, Equatable {
        /// Which audit report `idscan-reports` saves.
        public enum Report: String, Sendable, CaseIterable {
            /// Created when the transaction completes; always available; not sealed.
            case simple
            /// Sealed, with the scanned documents; only until the transaction expires.
            case extended
            /// Both files.
            case both
        }

        // idscan-reports
        /// Default `extended`: the sealed report is what an audit asks for.
        public var report = Report.extended
        /// Save the simple report when the extended one is no longer available. Default true.
        public var fallbackToSimple = true
        /// Result fields copied into results.csv, one column each (the `mrz` value when present, else `visual`).
        public var resultFields: [String] = []
        /// Also download the document images listed in the result's `files`. Default false.
        public var images = false

        // idscan-create
        /// One of the valid task sets. Default `[document_scan]`.
        public var tasks = ["document_scan"]
        /// `en-US`, `nl-NL` or `fr-FR`; nil leaves the service's default (en-US).
        public var locale: String?
        /// nil leaves the service's default (false).
        public var mobileOnly: Bool?
        /// Seconds, 3600 to 86400; nil leaves the service's default (3600).
        public var expiresIn: Int?
        /// `{key}` is replaced by the row's key (percent-encoded).
        public var returnURL: String?
        public var scanReturnURL: String?

        public static let taskSets = [
            ["document_scan"], ["document_scan", "face_liveness"], ["document_scan", "face_liveness", "face_match"],
        ]
        public static let locales = ["en-US", "nl-NL", "fr-FR"]
        public static let expiresInRange = 3_600...86_400

        public init() {}
    }
}
