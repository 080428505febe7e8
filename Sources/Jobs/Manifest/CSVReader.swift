import CCSV
import Foundation

/// One CSV record as libcsv delivered it: the raw bytes of every field, valid only during the callback.
///
/// To keep memory flat whatever the input, a record keeps at most ``CSVReader/maximumStoredFields`` fields and
/// ``CSVReader/maximumStoredBytes`` bytes, and no bytes of a field longer than its reader's field limit; what is
/// not kept is still counted (``fieldCount``, ``fieldLength(_:)``), so callers can tell and reject the record.
struct CSVRecord: ~Copyable {
    fileprivate let bytes: UnsafeBufferPointer<UInt8>
    fileprivate let ends: UnsafeBufferPointer<Int>
    fileprivate let lengths: UnsafeBufferPointer<Int>
    /// Every field, the ones not kept included.
    let fieldCount: Int
    /// The physical lines (1-based, counted by LF) the record spans: more than one when a quoted field holds line
    /// breaks, or when a quote left open swallowed the lines after it.
    let lines: ClosedRange<Int>
    /// Why the record is not sound CSV (strict mode); its fields are then only those before the damage.
    let damage: CSVDamage?

    /// The bytes of field `index` (0-based, below ``CSVReader/maximumStoredFields``); empty when they were not kept.
    func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let start = index == 0 ? 0 : ends[index - 1]
        return UnsafeBufferPointer(rebasing: bytes[start..<ends[index]])
    }

    /// The length in bytes of field `index` (0-based, below ``CSVReader/maximumStoredFields``), kept or not.
    func fieldLength(_ index: Int) -> Int { lengths[index] }

    /// Whether the bytes of field `index` were kept.
    func isStored(_ index: Int) -> Bool { field(index).count == lengths[index] }

    /// Whether the record is one empty field: a line with nothing on it.
    var isBlank: Bool { fieldCount == 1 && lengths.first == 0 }
}

/// What makes one record unsound CSV; the reader goes on with the line after it.
struct CSVDamage: Sendable, Equatable {
    enum Problem: Sendable, Equatable {
        /// Text follows the closing quote of a quoted field (`"abc"def`): when the record spans several lines,
        /// a quote left open swallowed the lines up to a later quote.
        case textAfterClosingQuote
    }
    let problem: Problem
    /// The 0-based field where the damage is.
    let field: Int
}

/// Why the bytes cannot be read as CSV from some record on.
struct CSVStructureError: Error {
    enum Problem { case unterminatedQuote, fieldTooLong, parser(String) }
    let problem: Problem
    /// The 1-based record (header included) where the problem starts.
    let record: Int
    /// The 0-based field of that record where the problem starts.
    let field: Int
    /// The physical line (1-based) where that record starts.
    let line: Int
}

/// Streams CSV through libcsv: feed it chunks, it calls back with every complete record.
///
/// libcsv runs in its strict mode, fed one physical line at a time so that every record knows the lines it spans.
/// A record strict mode refuses (text after a closing quote) is delivered with its ``CSVRecord/damage`` and the
/// lines it took, and reading goes on with a fresh parser at the next line: a quote left open swallows lines only
/// up to the next quote, and those lines are named, never lost. A quote inside an unquoted field stays text, as
/// spreadsheets read it. A quoted
/// field still open at the end of the input is an error: that quote would swallow the rest of the file. Leading
/// and trailing spaces of unquoted fields are trimmed; tabs are trimmed too unless the tab is the delimiter. A field that grows past `hardFieldLimit` stops the parse (the file is not the CSV it
/// claims to be); smaller limits are the caller's business, helped by a record keeping only what fits its limits
/// (see ``CSVRecord``).
final class CSVReader {
    static let hardFieldLimit = 16 << 20
    /// Fields a record keeps; later ones are only counted (a line of a million commas takes no memory).
    static let maximumStoredFields = 1 << 16
    /// Bytes a record keeps, all fields together.
    static let maximumStoredBytes = 16 << 20

    private let parser: UnsafeMutablePointer<csv_parser>
    private let delimiter: UInt8
    /// What the callbacks build up, behind a pointer: libcsv calls back twice per field, and a class's own
    /// stored properties would cost a dynamic exclusivity check on every access (half the reading time).
    private let state: UnsafeMutablePointer<State>
    /// Records delivered so far.
    var recordCount: Int { state.pointee.recordCount }

    private struct State {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        var lengths: [Int] = []
        var fieldsInRecord = 0
        var recordCount = 0
        /// The physical line being fed (1-based), and the one the record being read started on.
        var line = 1
        var recordStartLine = 1
        /// After a damaged record: the rest of its last line is skipped.
        var skippingToLineEnd = false
        /// Fields longer than this keep only their length.
        var storedFieldLimit: Int
        var onRecord: (borrowing CSVRecord) throws -> Void = { _ in }
        var callbackError: (any Error)?
    }

    init(delimiter: UInt8, storedFieldLimit: Int = ManifestCells.maximumCellBytes) {
        parser = .allocate(capacity: 1)
        self.delimiter = delimiter
        Self.start(parser, delimiter: delimiter)
        state = .allocate(capacity: 1)
        state.initialize(to: State(storedFieldLimit: storedFieldLimit))
        state.pointee.bytes.reserveCapacity(4096)
        state.pointee.ends.reserveCapacity(64)
        state.pointee.lengths.reserveCapacity(64)
    }

    deinit {
        csv_free(parser)
        parser.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    private static func start(_ parser: UnsafeMutablePointer<csv_parser>, delimiter: UInt8) {
        csv_init(parser, UInt8(CSV_STRICT | CSV_STRICT_FINI))
        csv_set_delim(parser, delimiter)
        csv_set_space_func(parser, delimiter == UInt8(ascii: "\t") ? Self.isSpace : Self.isSpaceOrTab)
    }

    /// libcsv's parser states (libcsv.c).
    private enum ParserState {
        static let rowNotBegun: Int32 = 0
        static let fieldBegun: Int32 = 2
        static let fieldMightHaveEnded: Int32 = 3
    }

    /// Parses `chunk`, calling `onRecord` for each record it completes. Errors thrown by `onRecord` end the parse.
    func feed(_ chunk: UnsafeRawBufferPointer, onRecord: @escaping (borrowing CSVRecord) throws -> Void) throws {
        state.pointee.onRecord = onRecord
        guard var start = chunk.baseAddress else { return }
        let end = start + chunk.count
        while start < end {
            let newline = memchr(start, 0x0A, end - start).map { UnsafeRawPointer($0) }
            let pieceEnd = newline.map { $0 + 1 } ?? end
            try feedLinePiece(UnsafeRawBufferPointer(start: start, count: pieceEnd - start))
            if newline != nil { state.pointee.line += 1 }
            start = pieceEnd
        }
    }

    /// Feeds part of one physical line (up to and including its LF, when it has one).
    private func feedLinePiece(_ piece: UnsafeRawBufferPointer) throws {
        if state.pointee.skippingToLineEnd {
            if piece.last == 0x0A { state.pointee.skippingToLineEnd = false }
            return
        }
        // A line that starts between records starts the next one (blank lines before it are skipped).
        if parser.pointee.pstate == ParserState.rowNotBegun { state.pointee.recordStartLine = state.pointee.line }
        guard let base = piece.baseAddress else { return }
        var offset = 0
        while offset < piece.count {
            let parsed = csv_parse(parser, base + offset, piece.count - offset, Self.fieldCallback, Self.recordCallback, state)
            try rethrowCallbackError()
            offset += parsed
            if offset == piece.count { break }
            guard csv_error(parser) == CSV_EPARSE else {
                throw CSVStructureError(
                    problem: .parser(String(cString: csv_strerror(csv_error(parser)))), record: recordCount + 1,
                    field: state.pointee.fieldsInRecord, line: state.pointee.recordStartLine
                )
            }
            if parser.pointee.pstate == ParserState.fieldBegun && parser.pointee.quoted == 0 {
                // A quote inside an unquoted cell (`5" screen`, `C"1"`) is text, as spreadsheets read it: that
                // one byte goes through in lenient mode, and strict mode resumes after it.
                parser.pointee.status = 0
                csv_set_opts(parser, UInt8(CSV_STRICT_FINI))
                _ = csv_parse(parser, base + offset, 1, Self.fieldCallback, Self.recordCallback, state)
                csv_set_opts(parser, UInt8(CSV_STRICT | CSV_STRICT_FINI))
                try rethrowCallbackError()
                offset += 1
                continue
            }
            try deliverDamaged()
            // The rest of this line belongs to the damaged record; reading starts afresh on the next.
            if piece.last != 0x0A { state.pointee.skippingToLineEnd = true }
            return
        }
        if parser.pointee.entry_pos > Self.hardFieldLimit {
            throw CSVStructureError(
                problem: .fieldTooLong, record: recordCount + 1, field: state.pointee.fieldsInRecord, line: state.pointee.recordStartLine
            )
        }
    }

    /// Delivers the record strict mode refused, with the fields read before the damage, and starts a new parser.
    private func deliverDamaged() throws {
        let damage = CSVDamage(problem: .textAfterClosingQuote, field: state.pointee.fieldsInRecord)
        csv_free(parser)
        Self.start(parser, delimiter: delimiter)
        Self.submitRecord(state, damage: damage)
        try rethrowCallbackError()
    }

    /// Ends the input: delivers a last record without a line end, or fails on an unterminated quote.
    func finish(onRecord: @escaping (borrowing CSVRecord) throws -> Void) throws {
        // libcsv honours CSV_STRICT_FINI only in strict mode, so look for a quoted field still open ourselves
        // (parser state FIELD_BEGUN is 2 in libcsv.c).
        if parser.pointee.quoted != 0 && parser.pointee.pstate == ParserState.fieldBegun {
            throw CSVStructureError(
                problem: .unterminatedQuote, record: recordCount + 1, field: state.pointee.fieldsInRecord, line: state.pointee.recordStartLine
            )
        }
        state.pointee.onRecord = onRecord
        let status = csv_fini(parser, Self.fieldCallback, Self.recordCallback, state)
        try rethrowCallbackError()
        if status != 0 {
            throw CSVStructureError(
                problem: .unterminatedQuote, record: recordCount + 1, field: state.pointee.fieldsInRecord, line: state.pointee.recordStartLine
            )
        }
    }

    private func rethrowCallbackError() throws {
        if let error = state.pointee.callbackError {
            state.pointee.callbackError = nil
            throw error
        }
    }

    private static let isSpace: @convention(c) (UInt8) -> Int32 = { $0 == 0x20 ? 1 : 0 }
    private static let isSpaceOrTab: @convention(c) (UInt8) -> Int32 = { $0 == 0x20 || $0 == 0x09 ? 1 : 0 }

    private static let fieldCallback: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Void = {
        field, length, context in
        let state = context!.assumingMemoryBound(to: State.self)
        state.pointee.fieldsInRecord += 1
        guard state.pointee.ends.count < CSVReader.maximumStoredFields else { return }
        if length > 0, let field, length <= state.pointee.storedFieldLimit, state.pointee.bytes.count + length <= CSVReader.maximumStoredBytes {
            state.pointee.bytes.append(contentsOf: UnsafeRawBufferPointer(start: field, count: length).bindMemory(to: UInt8.self))
        }
        state.pointee.ends.append(state.pointee.bytes.count)
        state.pointee.lengths.append(length)
    }

    private static let recordCallback: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Void = { _, context in
        submitRecord(context!.assumingMemoryBound(to: State.self), damage: nil)
    }

    private static func submitRecord(_ state: UnsafeMutablePointer<State>, damage: CSVDamage?) {
        let fieldCount = state.pointee.fieldsInRecord
        let lines = state.pointee.recordStartLine...max(state.pointee.line, state.pointee.recordStartLine)
        defer {
            // A record that was large gives its memory back, so one huge line does not keep it for the whole run.
            state.pointee.bytes.removeAll(keepingCapacity: state.pointee.bytes.capacity <= 1 << 20)
            state.pointee.ends.removeAll(keepingCapacity: state.pointee.ends.capacity <= 4096)
            state.pointee.lengths.removeAll(keepingCapacity: state.pointee.lengths.capacity <= 4096)
            state.pointee.fieldsInRecord = 0
            // The next record starts on this line at the earliest (a CR-only file keeps them all on line 1).
            state.pointee.recordStartLine = state.pointee.line
        }
        guard state.pointee.callbackError == nil else { return }
        state.pointee.recordCount += 1
        state.pointee.bytes.withUnsafeBufferPointer { bytes in
            state.pointee.ends.withUnsafeBufferPointer { ends in
                state.pointee.lengths.withUnsafeBufferPointer { lengths in
                    do {
                        try state.pointee.onRecord(
                            CSVRecord(bytes: bytes, ends: ends, lengths: lengths, fieldCount: fieldCount, lines: lines, damage: damage)
                        )
                    } catch {
                        state.pointee.callbackError = error
                    }
                }
            }
        }
    }
}
