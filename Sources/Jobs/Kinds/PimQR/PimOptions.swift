import Foundation

extension JobConfiguration {
    /// Options of the `pim-qr` kind: the fields of `POST /image`. Per row, manifest columns of the same name
    /// override them (an empty cell keeps the job's value).
    public struct PimOptions: Sendable, Equatable {
        /// The registered redirect URL's reference. Default 1.
        public var redirect = 1
        /// `{column}` fills in from the row.
        public var title = ""
        /// `{column}` fills in from the row.
        public var description = ""
        /// From the 15 documented names; matched ignoring case, sent in the documented spelling.
        public var attributes: [String] = []
        /// Pixels, 100 to 2000. Default 400.
        public var width = 400
        public var height = 400

        public static let allowedAttributes = [
            "Email", "Mobile", "Bankaccountnumber", "NickName", "Initials", "FirstName", "FamilyNamePrefix",
            "FamilyName", "BirthName", "DateOfBirth", "PlaceOfBirth", "Gender", "HeadShot", "BankIdentificationNumber",
            "BankAccountHolderName",
        ]
        public static let sizeRange = 100...2000
        public static let redirectRange = 1...9999

        /// The documented spelling of `name`, or nil when it is not an allowed attribute.
        public static func attribute(named name: String) -> String? {
            let wanted = name.trimmingCharacters(in: .whitespaces).lowercased()
            return allowedAttributes.first { $0.lowercased() == wanted }
        }

        public init() {}
    }
}

extension JobConfiguration.PimOptions: JobFileSection {
    static let key = "pim"
    static let kinds: [JobConfiguration.Kind] = [.pimQR]

    mutating func read(_ object: inout YAMLObject, kind: JobConfiguration.Kind) throws(JobFileError) {
        redirect = try object.integer("redirect", in: Self.redirectRange) ?? redirect
        title = try object.string("title") ?? title
        description = try object.string("description") ?? description
        if let names = try object.strings("attributes") {
            attributes = try names.map { (name) throws(JobFileError) -> String in
                guard let attribute = Self.attribute(named: name) else {
                    throw object.error("attributes", "has `\(name)`, which is not a PiM attribute; use \(Self.allowedAttributes.joined(separator: ", "))")
                }
                return attribute
            }
        }
        width = try object.integer("width", in: Self.sizeRange) ?? width
        height = try object.integer("height", in: Self.sizeRange) ?? height
    }
}
