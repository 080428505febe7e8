import Crypto
import Foundation

/// The sandbox's ID Scan answers, deterministic from the IDs, so tests can predict every result. The people are
/// fictitious: names, dates and document numbers are drawn from a SHA-256 of the IDs.
///
/// - About one transaction in five has expired: its extended report answers 410 (``isExtendedReportExpired(transactionID:)``).
/// - Every (transaction, result) pair has a completed `document_scan` with ``fields(transactionID:resultID:)``.
/// - `given_names`, `surname` and `nationality` read differently in the MRZ and the visual zone (upper case, a
///   country code), so a test can tell which source was used; `place_of_birth` has no MRZ value.
public enum IDScanOracle {
    /// One field of a document scan, with its value per source.
    public struct Field: Sendable, Equatable {
        public var name: String
        /// The machine-readable zone's value; nil when the MRZ doesn't carry the field.
        public var mrz: String?
        public var visual: String
    }

    /// The two document images a scan has.
    public enum DocumentSide: String, Sendable, CaseIterable {
        case front, back
    }

    /// The two audit reports.
    public enum ReportType: String, Sendable, CaseIterable {
        case simple, extended
    }

    /// Whether `id` is a transaction or result ID the sandbox accepts: 1 to 100 characters of `A-Z a-z 0-9 . _ -`,
    /// the first a letter or digit (so it is safe as a path segment and a file name).
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...100).contains(bytes.count), isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Whether the transaction has expired, so its extended report is gone (about 20% of IDs).
    public static func isExtendedReportExpired(transactionID: String) -> Bool {
        digest(transactionID)[0] % 5 == 0
    }

    /// The document scan's fields for a result, in the order the sandbox sends them.
    public static func fields(transactionID: String, resultID: String) -> [Field] {
        let hash = digest("\(transactionID)/\(resultID)")
        let isFemale = hash[0] % 2 == 0
        let firstNames = isFemale ? femaleNames : maleNames
        let first = firstNames[Int(hash[1]) % firstNames.count]
        let second = firstNames[(Int(hash[1]) + 1 + Int(hash[2]) % (firstNames.count - 1)) % firstNames.count]
        let givenNames = "\(first) \(second)"
        let surname = surnames[Int(hash[3]) % surnames.count]
        let letters = Array("ABCDEFGHJKLMNPRSTUVWXYZ")
        let alphanumerics = Array("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
        var number = String(letters[Int(hash[4]) % letters.count]) + String(letters[Int(hash[5]) % letters.count])
        for index in 6..<12 { number.append(alphanumerics[Int(hash[index]) % alphanumerics.count]) }
        number += String(hash[12] % 10)
        let birth = date(year: 1950 + Int(hash[13]) % 55, month: hash[14], day: hash[15])
        let expiry = date(year: 2027 + Int(hash[16]) % 10, month: hash[17], day: hash[18])
        let documentType = hash[19] % 2 == 0 ? "identity_card" : "passport"
        let place = places[Int(hash[20]) % places.count]
        let gender = isFemale ? "F" : "M"
        return [
            Field(name: "document_type", mrz: documentType, visual: documentType),
            Field(name: "document_number", mrz: number, visual: number),
            Field(name: "given_names", mrz: givenNames.uppercased(), visual: givenNames),
            Field(name: "surname", mrz: surname.uppercased(), visual: surname),
            Field(name: "date_of_birth", mrz: birth, visual: birth),
            Field(name: "place_of_birth", mrz: nil, visual: place),
            Field(name: "gender", mrz: gender, visual: gender),
            Field(name: "nationality", mrz: "NLD", visual: "Nederlandse"),
            Field(name: "expiry_date", mrz: expiry, visual: expiry),
        ]
    }

    /// A document image: a few hundred JPEG-shaped bytes (SOI, a JFIF header, a comment of hash bytes, EOI).
    public static func documentImage(transactionID: String, resultID: String, side: DocumentSide) -> [UInt8] {
        var filler: [UInt8] = []
        var seed = digest("\(transactionID)/\(resultID)/\(side.rawValue)")
        while filler.count < 320 {
            filler += seed.map { $0 == 0xFF ? 0xFE : $0 }  // no marker bytes inside the comment
            seed = Array(SHA256.hash(data: seed))
        }
        let jfif: [UInt8] = [0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]
        let commentLength = filler.count + 2
        let comment: [UInt8] = [0xFF, 0xFE, UInt8(commentLength >> 8), UInt8(commentLength & 0xFF)] + filler
        return [0xFF, 0xD8] + jfif + comment + [0xFF, 0xD9]
    }

    /// An audit report, complete and undamaged, of `totalBytes` bytes (or the bare PDF's size, if larger).
    public static func report(transactionID: String, resultID: String, type: ReportType, totalBytes: Int) -> [UInt8] {
        AuditReportPDF.make(transactionID: transactionID, resultID: resultID, type: type, totalBytes: totalBytes)
    }

    // MARK: Building blocks

    static func digest(_ text: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(text.utf8)))
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func date(year: Int, month: UInt8, day: UInt8) -> String {
        let month = Int(month) % 12 + 1
        let day = Int(day) % 28 + 1
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    private static let femaleNames = ["Anna", "Sophie", "Julia", "Emma", "Lotte", "Fleur", "Noor", "Sanne"]
    private static let maleNames = ["Daan", "Lucas", "Sem", "Milan", "Thijs", "Bram", "Jesse", "Ruben"]
    private static let surnames = [
        "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot",
    ]
    private static let places = ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Zwolle", "Maastricht"]
}
