import GRDB
import GRDBSQLite

/// Writes one intake's rows with one plain append for nearly every row: the first accepted row of a value becomes
/// its work item; only rejected rows and rows repeating an earlier value go to `extra_rows`.
///
/// Repeats are found without an index on the value: a ``ValueFilter`` (consulted by the caller) says "surely new"
/// for almost every first occurrence, which is appended at once; the rest wait in a temporary table and are
/// settled exactly by ``finish()``, in row order, against everything written before them.
///
/// Binds and steps GRDB-prepared statements through the SQLite C API: at a million rows, building GRDB's argument
/// arrays and cursors cost more than SQLite's own work (see BENCHMARKS.md, manifest intake).
struct SQLiteIntakeWriter {
    /// Rows seen, rows rejected, accepted rows (sharing ones included) and work items.
    private(set) var rows = 0
    private(set) var rejected = 0
    private(set) var accepted = 0
    private(set) var items = 0

    private let database: Database
    private let duplicateReason: DuplicateReason?
    private let insertItem: Statement
    /// ``itemsPerInsert`` items in one statement: SQLite's cost per statement (cursors, journal checks, halting)
    /// was a third of its time at one row each.
    private let insertItems: Statement
    private static let itemsPerInsert = 64
    private var newItems: [IntakeRow] = []
    private let insertSuspect: Statement
    private let insertExtra: Statement

    init(_ database: Database, duplicateReason: DuplicateReason?) throws {
        self.database = database
        self.duplicateReason = duplicateReason
        try database.execute(
            sql: """
                CREATE TEMP TABLE IF NOT EXISTS intake_suspects (row INTEGER PRIMARY KEY, key TEXT, value TEXT NOT NULL, payload TEXT);
                CREATE INDEX IF NOT EXISTS temp.intake_suspects_by_value ON intake_suspects (value);
                DELETE FROM intake_suspects;
                """
        )
        insertItem = try database.makeStatement(sql: "INSERT INTO work (id, key, value, payload) VALUES (?, ?, ?, ?)")
        insertItems = try database.makeStatement(
            sql: "INSERT INTO work (id, key, value, payload) VALUES " + repeatElement("(?, ?, ?, ?)", count: Self.itemsPerInsert).joined(separator: ", ")
        )
        newItems.reserveCapacity(Self.itemsPerInsert)
        insertSuspect = try database.makeStatement(sql: "INSERT INTO intake_suspects (row, key, value, payload) VALUES (?, ?, ?, ?)")
        insertExtra = try database.makeStatement(
            sql: "INSERT INTO extra_rows (row, key, value, reject_reason, work_id) VALUES (?, ?, ?, ?, ?)"
        )
    }

    /// Writes `row`; `maybeSeen` is the ``ValueFilter``'s answer for its value (ignored for a rejected row).
    mutating func write(_ row: IntakeRow, maybeSeen: Bool) throws {
        rows += 1
        if let reason = row.rejectReason {
            rejected += 1
            return try writeExtra(row.row, row.key, row.value, reason: reason, item: nil)
        }
        guard maybeSeen else {
            accepted += 1
            items += 1
            newItems.append(row)
            if newItems.count == Self.itemsPerInsert { try flushNewItems() }
            return
        }
        try insert(row, with: insertSuspect.sqliteStatement)
    }

    /// Binds a row's four item columns from parameter `first` on.
    private func bindItem(_ row: IntakeRow, from first: Int32, in statement: OpaquePointer) {
        bind(row.row, at: first, in: statement)
        bind(row.key, at: first + 1, in: statement)
        bind(row.value, at: first + 2, in: statement)
        bind(row.payload, at: first + 3, in: statement)
    }

    private func insert(_ row: IntakeRow, with statement: OpaquePointer) throws {
        bindItem(row, from: 1, in: statement)
        try step(statement)
    }

    /// Writes the buffered new items: a full buffer with one statement, what is left one by one.
    private mutating func flushNewItems() throws {
        if newItems.count == Self.itemsPerInsert {
            let statement = insertItems.sqliteStatement
            for (index, row) in newItems.enumerated() { bindItem(row, from: Int32(index * 4 + 1), in: statement) }
            try step(statement)
        } else {
            for row in newItems { try insert(row, with: insertItem.sqliteStatement) }
        }
        newItems.removeAll(keepingCapacity: true)
    }

    /// Settles the rows the filter could not: each is a new work item, shares the item of the first earlier row
    /// with its value, or (with a duplicate reason) is rejected for repeating it.
    mutating func finish() throws {
        try flushNewItems()
        defer { try? database.execute(sql: "DELETE FROM intake_suspects; DROP TABLE IF EXISTS temp.intake_firsts") }
        guard try Int.fetchOne(database, sql: "SELECT count(*) FROM intake_suspects") ?? 0 > 0 else { return }
        // One pass over the work items finds the first occurrence of every suspect value; it is kept in a table
        // of its own so the loop below never writes to a table its query is still reading.
        try database.execute(
            sql: """
                CREATE TEMP TABLE intake_firsts AS
                    SELECT value, min(row) AS first FROM (
                        SELECT id AS row, value FROM work WHERE value IN (SELECT value FROM intake_suspects)
                        UNION ALL
                        SELECT row, value FROM intake_suspects
                    ) GROUP BY value;
                CREATE UNIQUE INDEX temp.intake_firsts_by_value ON intake_firsts (value);
                """
        )
        let shareItem = try database.makeStatement(sql: "UPDATE work SET shared_rows = shared_rows + 1 WHERE id = ?")
        let suspects = try Row.fetchCursor(
            database,
            sql: """
                SELECT s.row, s.key, s.value, s.payload, f.first
                FROM intake_suspects s JOIN intake_firsts f ON f.value = s.value ORDER BY s.row
                """
        )
        while let suspect = try suspects.next() {
            let (row, key, value, payload, first): (Int, String?, String, String?, Int) = (suspect[0], suspect[1], suspect[2], suspect[3], suspect[4])
            if first == row {
                accepted += 1
                items += 1
                try insertItem.execute(arguments: [row, key, value, payload])
            } else if let duplicateReason {
                rejected += 1
                try writeExtra(row, key, value, reason: duplicateReason(value, first), item: nil)
            } else {
                accepted += 1
                try shareItem.execute(arguments: [first])
                try writeExtra(row, key, value, reason: nil, item: first)
            }
        }
    }

    private func writeExtra(_ row: Int, _ key: String?, _ value: String, reason: String?, item: Int?) throws {
        let insert = insertExtra.sqliteStatement
        bind(row, at: 1, in: insert)
        bind(key, at: 2, in: insert)
        bind(value, at: 3, in: insert)
        bind(reason, at: 4, in: insert)
        if let item { bind(item, at: 5, in: insert) } else { sqlite3_bind_null(insert, 5) }
        try step(insert)
    }

    /// Runs a bound statement to its end and resets it.
    private func step(_ statement: OpaquePointer) throws {
        defer { sqlite3_reset(statement) }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw failure(code) }
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: database.lastErrorMessage)
    }
}

/// SQLite copies the text before `sqlite3_bind_text` returns.
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

private func bind(_ text: String?, at index: Int32, in statement: OpaquePointer) {
    guard var text else {
        sqlite3_bind_null(statement, index)
        return
    }
    text.withUTF8 { bytes in
        guard let start = bytes.baseAddress, !bytes.isEmpty else {
            _ = sqlite3_bind_text(statement, index, "", 0, transient)  // empty text, not NULL
            return
        }
        _ = start.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            sqlite3_bind_text(statement, index, $0, Int32(bytes.count), transient)
        }
    }
}

private func bind(_ number: Int, at index: Int32, in statement: OpaquePointer) {
    sqlite3_bind_int64(statement, index, Int64(number))
}
