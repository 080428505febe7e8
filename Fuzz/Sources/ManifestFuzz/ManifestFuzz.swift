import Crypto
import FuzzSupport
import Foundation

/// Fuzzes the manifest intake: ManifestReader (a real file, read with ManifestFile), CSVReader over libcsv,
/// ManifestHeader and CellDecoder (Sources/Jobs/Manifest, symlinked into this target), then the number-verify row
/// reader (MSISDN), the way JobRunner.prepareIntake and NumberVerifyJob.rowReader use them (a reject keeps the
/// key column's cell when that cell is sound).
///
/// Input: one option byte, then the manifest's bytes.
/// - bits 0-2: the job file's `delimiter`: 0-3 none (detect), 4 comma, 5 semicolon, 6 tab, 7 pipe;
/// - bit 3: `columns: { key: key }` is set; bit 4: the msisdn column is configured as ` MSISDN ` (loose match);
/// - bit 5: expand runs: `FF n c` in the bytes stands for byte `c` repeated (n+1) x 256 times (up to 320 KiB in
///   all, fields up to 96 KiB), to reach the 256 KiB read chunk and the 65 536 stored fields, which small inputs
///   cannot;
/// - bits 6-7: seed for the chunk sizes of the split-feeding check below.
///
/// Checks: nothing crashes or leaks past ASan; `read` either answers a Scan or throws a ManifestError (exit 65; nothing
/// else); the header comes once, before any row; rows are numbered 1, 2, ... and counted in the Scan; every row
/// ends accepted (a well-formed number) or rejected with a reason; decoded cells are the field bytes unchanged;
/// the Scan's SHA-256 is that of the file's bytes; a ManifestError message does not repeat a header cell that looks
/// like personal data; and libcsv through CSVReader gives the same records and the same error whether the bytes
/// come in one chunk or in many small ones (production reads 256 KiB chunks, so fields do straddle them).
@main
struct ManifestFuzz {
    static func main() {
        selfTest()
        atexit { unlink(ManifestFuzz.path) }
        runFuzzer { input in
            fuzz(input)
        }
    }

    static let path: String = {
        let folder: String
        if let configured = getenv("FUZZ_TMPDIR") {
            folder = String(cString: configured)
        } else {
            folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        }
        return "\(folder)/manifest-fuzz-\(getpid()).csv"
    }()

    /// `MANIFEST_FUZZ_NO_EXPAND=1` ignores bit 5: small inputs only, several times the executions per second.
    static let noExpansion = getenvFlag("MANIFEST_FUZZ_NO_EXPAND")
    static let expandUnit = 256
    /// Past the 256 KiB read chunk and the 65 536 stored fields, but short of the 1 MiB cell limit.
    static let expandCap = 320 << 10
    /// Inputs with a longer field are skipped: libcsv grows a field's buffer 128 bytes at a time and under ASan
    /// every realloc copies, so a field's cost grows with its square (a 256 KiB field takes half a second, where
    /// glibc's realloc grows large blocks in place). The 1 MiB cell and 16 MiB field limits are left to the unit
    /// tests.
    static let longestField = 96 << 10

    static func fuzz(_ input: UnsafeRawBufferPointer) {
        guard let options = input.first else { return }
        let delimiters: [UInt8?] = [nil, nil, nil, nil, UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")]
        let delimiter = delimiters[Int(options & 7)]
        let keyColumn: String? = options & 8 != 0 ? "key" : nil
        let msisdnColumn = options & 16 != 0 ? " MSISDN " : "msisdn"
        let body = UnsafeRawBufferPointer(rebasing: input[1...])
        let bytes = options & 32 != 0 && !noExpansion ? expand(body) : Array(body)
        if bytes.count > longestField && longestFieldLength(bytes) > longestField { return }
        write(bytes)

        // What JobRunner.prepareIntake does, with NumberVerifyJob's row reader.
        let reader = ManifestReader(path: path, delimiter: delimiter)
        var header: [String]?
        var headerCalls = 0
        var rowReader: ((Int, ManifestCells) -> Outcome)?
        var rowKeyColumn: Int?
        var rows: [Record] = []
        var lastRow = 0
        var outcomes = 0
        let scan: ManifestReader.Scan
        do {
            scan = try reader.read(
                onHeader: { names in
                    headerCalls += 1
                    check(rows.isEmpty, "header after rows")
                    header = names
                    let manifestHeader = ManifestHeader(names: names, manifestPath: path)
                    let msisdnIndex = try manifestHeader.index(of: msisdnColumn, role: "msisdn")
                    let keyIndex = try keyColumn.map { (name) throws(ManifestError) in try manifestHeader.index(of: name, role: "key") }
                    check(msisdnIndex >= 0 && msisdnIndex < names.count, "msisdn index \(msisdnIndex) of \(names.count)")
                    if let keyIndex { check(keyIndex >= 0 && keyIndex < names.count, "key index \(keyIndex) of \(names.count)") }
                    rowKeyColumn = keyIndex
                    rowReader = { _, cells in
                        _ = keyIndex.flatMap { cells[$0] }
                        let raw = cells[msisdnIndex] ?? ""
                        switch MSISDN.normalise(raw) {
                        case .success(let msisdn): return .accepted(msisdn)
                        case .failure(let problem): return .rejected("msisdn \(problem)")
                        }
                    }
                },
                onRow: { row, record in
                    check(headerCalls == 1, "row \(row) before the header")
                    check(row == lastRow + 1, "row \(row) after row \(lastRow)")
                    lastRow = row
                    check(record.fieldCount >= 1 || record.damage != nil, "an undamaged record with \(record.fieldCount) fields")
                    check(!record.isBlank, "blank row \(row) delivered")
                    rows.append(Self.record(record))
                    let outcome: Outcome
                    switch CellDecoder.decode(record, header: header!, keyColumn: rowKeyColumn) {
                    case .success(let cells):
                        check(cells.values.count == record.fieldCount, "\(cells.values.count) cells of \(record.fieldCount) fields")
                        for (index, value) in cells.values.enumerated() {
                            check(Array(value.utf8) == Array(record.field(index)), "cell \(index) of row \(row) differs from its bytes")
                        }
                        outcome = rowReader!(row, cells)
                    case .failure(let problem):
                        if let key = problem.key {
                            // The key of a rejected row is its key cell's text, unchanged.
                            check(rowKeyColumn.map { $0 < record.fieldCount && Array(key.utf8) == Array(record.field($0)) } ?? false,
                                  "rejected row \(row) has key \(String(reflecting: key)) that is not its key cell")
                        }
                        outcome = .rejected(problem.reason)
                    }
                    switch outcome {
                    case .accepted(let msisdn):
                        check(msisdn.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && (8...15).contains(msisdn.utf8.count),
                              "accepted \(msisdn)")
                    case .rejected(let reason):
                        check(!reason.isEmpty, "rejected without a reason")
                    }
                    outcomes += 1
                }
            )
        } catch let error as ManifestError {
            check(!error.message.isEmpty, "empty message")
            checkNoPersonalData(in: error.message, header: header)
            check(headerCalls <= 1, "header delivered \(headerCalls) times")
            crossCheck(bytes, delimiter: delimiter, seed: options >> 6, readRows: nil, readFailed: true)
            return
        } catch {
            check(false, "read threw \(type(of: error)) (not a ManifestError): \(error)")
            return
        }
        check(headerCalls == 1, "read succeeded with the header delivered \(headerCalls) times")
        check(rowReader != nil, "read succeeded without a row reader")
        check(scan.dataRows == lastRow && outcomes == lastRow, "scan counts \(scan.dataRows) rows, delivered \(lastRow), settled \(outcomes)")
        check(scan.sha256 == sha256Hex(bytes), "scan hash \(scan.sha256) is not the file's")
        if let delimiter {
            check(scan.delimiter == delimiter, "given delimiter \(delimiter) but scan says \(scan.delimiter)")
        } else {
            check([0x2C, 0x3B, 0x09, 0x7C].contains(scan.delimiter), "detected delimiter \(scan.delimiter)")
        }
        do {
            check(try reader.sha256() == scan.sha256, "sha256() differs from the scan's hash")
        } catch {
            check(false, "sha256() threw \(error)")
        }
        crossCheck(bytes, delimiter: scan.delimiter, seed: options >> 6, readRows: rows, readFailed: false)
    }

    enum Outcome { case accepted(String), rejected(String) }

    /// A record as CSVReader delivered it: its field count, and a hash of every stored field's length and bytes
    /// (a hash rather than copies: records of 65 536 fields would cost more to copy than to parse).
    struct Record: Equatable {
        var fieldCount: Int
        var hash: UInt64

        /// Blank: one empty field.
        var isBlank: Bool { fieldCount == 1 && hash == Record.blankHash }
        static let blankHash: UInt64 = {
            var hash = Record.offset
            mix(&hash, 0)
            return hash
        }()

        static let offset: UInt64 = 0xCBF2_9CE4_8422_2325
        static func mix(_ hash: inout UInt64, _ value: Int) {
            hash = (hash ^ UInt64(bitPattern: Int64(value))) &* 0x0000_0100_0000_01B3
        }
    }

    static func record(_ record: borrowing CSVRecord) -> Record {
        var hash = Record.offset
        let stored = min(record.fieldCount, CSVReader.maximumStoredFields)
        for index in 0..<stored {
            Record.mix(&hash, record.fieldLength(index))
            for byte in record.field(index) {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
        }
        return Record(fieldCount: record.fieldCount, hash: hash)
    }

    // MARK: CSVReader alone, in one chunk and in many

    struct Parse: Equatable {
        var records: [Record]
        var error: String?
    }

    static func parse(_ body: ArraySlice<UInt8>, delimiter: UInt8, chunkSizes: () -> Int) -> Parse {
        let reader = CSVReader(delimiter: delimiter)
        var records: [Record] = []
        do {
            try body.withUnsafeBytes { raw in
                var offset = 0
                repeat {
                    let size = min(chunkSizes(), raw.count - offset)
                    try reader.feed(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + size])) { records.append(record($0)) }
                    offset += size
                } while offset < raw.count
            }
            try reader.finish { records.append(record($0)) }
        } catch let error as CSVStructureError {
            return Parse(records: records, error: "\(error.problem) at record \(error.record) field \(error.field)")
        } catch {
            check(false, "CSVReader threw \(type(of: error)): \(error)")
        }
        return Parse(records: records, error: nil)
    }

    /// Parses the bytes with CSVReader directly, whole and split at pseudo-random points, and compares: the two
    /// must agree, and with what ManifestReader delivered.
    static func crossCheck(_ bytes: [UInt8], delimiter: UInt8?, seed: UInt8, readRows: [Record]?, readFailed: Bool) {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        let chosen = delimiter ?? body.withUnsafeBytes { ManifestReader.detectDelimiter(in: $0) }
        let whole = parse(body, delimiter: chosen, chunkSizes: { Int.max })
        var random = SplitMix64(seed: UInt64(bytes.count) &* 0x9E37_79B9 ^ UInt64(seed))
        let largest = bytes.count > 65_536 ? 8_192 : 64
        let split = parse(body, delimiter: chosen, chunkSizes: { 1 + random.next(upTo: largest) })
        check(whole == split, "CSVReader differs when fed in chunks: whole \(summary(whole)) vs split \(summary(split))")
        if let readRows {
            // The data rows: the records without blank ones, after the first non-blank one (the header).
            let nonBlank = whole.records.filter { !$0.isBlank }
            check(whole.error == nil, "ManifestReader succeeded where CSVReader failed: \(whole.error!)")
            check(Array(nonBlank.dropFirst()) == readRows, "ManifestReader delivered \(readRows.count) rows, CSVReader has \(max(0, nonBlank.count - 1))")
        }
        if whole.error != nil {
            check(readFailed, "CSVReader failed (\(whole.error!)) but ManifestReader succeeded")
        }
    }

    static func summary(_ parse: Parse) -> String {
        "\(parse.records.count) records, error \(parse.error ?? "none"), fields \(parse.records.prefix(8).map(\.fieldCount))"
    }

    // MARK: Helpers

    /// A header cell that looks like personal data (ManifestHeader masks names with six digits or more) must not
    /// appear whole in a message (ManifestError: messages never contain personal numbers).
    static func checkNoPersonalData(in message: String, header: [String]?) {
        guard let header else { return }
        // Cells up to 64 bytes: a number is short, and Foundation's `contains` is slow on long strings.
        // A cell that masking leaves as it is (`5432*10b`: the one character masked is already a `*`) is skipped.
        for cell in header where (8...64).contains(cell.utf8.count) && cell.utf8.lazy.filter({ $0 >= 0x30 && $0 <= 0x39 }).count >= 6
            && maskedForLog(cell) != cell
        {
            check(!message.contains(cell), "message repeats the header cell \(String(reflecting: cell)): \(message)")
        }
    }

    static func expand(_ body: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < body.count {
            if body[index] == 0xFF, index + 2 < body.count {
                let count = (Int(body[index + 1]) + 1) * expandUnit
                if out.count + count <= expandCap { out.append(contentsOf: repeatElement(body[index + 2], count: count)) }
                index += 3
            } else {
                out.append(body[index])
                index += 1
            }
        }
        return out
    }

    /// The longest field, roughly (quotes toggle, any candidate delimiter or line end ends a field).
    static func longestFieldLength(_ bytes: [UInt8]) -> Int {
        var longest = 0
        var current = 0
        var inQuotes = false
        for byte in bytes {
            if byte == 0x22 { inQuotes.toggle() }
            if !inQuotes && (byte == 0x0A || byte == 0x0D || byte == 0x2C || byte == 0x3B || byte == 0x09 || byte == 0x7C) {
                current = 0
            } else {
                current += 1
                longest = max(longest, current)
            }
        }
        return longest
    }

    static func write(_ bytes: [UInt8]) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        check(descriptor >= 0, "cannot create \(path): \(String(cString: strerror(errno)))")
        var written = 0
        bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let count = Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                check(count > 0, "cannot write \(path)")
                written += count
            }
        }
        close(descriptor)
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().hexString
    }

    /// The SHA-256 stand-in against FIPS 180-4's examples, and the temporary file works.
    static func selfTest() {
        check(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 abc")
        check(sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
              == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "SHA-256 two blocks")
        check(sha256Hex([UInt8](repeating: 0x61, count: 1_000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3", "SHA-256 1000 a")
        check(sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256 empty")
        var pieces = SHA256()
        let thousand = [UInt8](repeating: 0x61, count: 1_000)
        for start in stride(from: 0, to: 1_000, by: 7) {
            thousand[start..<min(start + 7, 1_000)].withUnsafeBytes { pieces.update(bufferPointer: $0) }
        }
        check(pieces.finalize().hexString == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3", "SHA-256 in pieces")
        write(Array("msisdn\n0612345678\n".utf8))
        print("manifest-fuzz: temporary manifest \(path)")
    }
}
