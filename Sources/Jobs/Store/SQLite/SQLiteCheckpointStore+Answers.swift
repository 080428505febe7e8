import Foundation
import GRDB

/// What a state keeps beyond its rows: where its results came from (``StateProvenance``), and the answers of its
/// earlier campaigns, with their saved files, that a recurring job's next campaign may reuse.
extension SQLiteCheckpointStore {
    package func provenance() async throws -> StateProvenance? {
        try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'provenance'").flatMap(StateProvenance.init(json:))
        }
    }

    package func recordProvenance(_ provenance: StateProvenance) async throws {
        try await queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('provenance', ?)", arguments: [provenance.json])
        }
    }

    package func keepAnswers(source: String, since: Double?, contents: (SavedFile) -> [UInt8]?) async throws {
        let answered: StatementArguments = [WorkState.succeeded.rawValue, WorkState.notFound.rawValue]
        try writeStreaming { db in
            try db.inTransaction {
                let finished = "SELECT value FROM work WHERE state IN (?, ?) AND updated_at IS NOT NULL"
                try db.execute(sql: "DELETE FROM answer_files WHERE value IN (\(finished))", arguments: answered)
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO answers (value, state, result, answered_at, source, payload)
                        SELECT value, state, result, updated_at, ?, payload FROM work WHERE state IN (?, ?) AND updated_at IS NOT NULL
                        """,
                    arguments: [source] + answered
                )
                // The files live in the output folder only: each is read (and checked) once, while the answers
                // that need it are kept. SQLite reads `files` while `answer_files` is written: different tables.
                let files = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT f.path, f.kind, f.sha256, f.bytes, f.requested_at, f.api_path, f.http_status, f.api_version,
                            f.content_type, w.value
                        FROM files f JOIN work w ON w.id = f.work_id WHERE w.state IN (?, ?) AND w.updated_at IS NOT NULL
                        """,
                    arguments: answered
                )
                let insert = try db.makeStatement(
                    sql: """
                        INSERT OR REPLACE INTO answer_files
                            (value, path, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type, content)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                )
                var lost: [String] = []
                while let row = try files.next() {
                    let file = Self.savedFile(row)
                    let value: String = row[9]
                    guard let bytes = contents(file) else {
                        lost.append(value)
                        continue
                    }
                    try insert.execute(arguments: [
                        value, file.path, file.kind, file.sha256, file.bytes, file.requestedAt, file.apiPath, file.httpStatus,
                        file.apiVersion, file.contentType, Data(bytes),
                    ])
                }
                for value in lost {
                    try db.execute(sql: "DELETE FROM answers WHERE value = ?", arguments: [value])
                    try db.execute(sql: "DELETE FROM answer_files WHERE value = ?", arguments: [value])
                }
                if let since {
                    try db.execute(sql: "DELETE FROM answers WHERE answered_at < ?", arguments: [since])
                    try db.execute(sql: "DELETE FROM answer_files WHERE value NOT IN (SELECT value FROM answers)")
                }
                return .commit
            }
        }
    }

    package func reuseAnswers(source: String, since: Double, restore: (SavedFile, [UInt8]) throws -> Void) async throws -> Int {
        // The files of the answers kept for a pending item's very request (value and payload).
        let matchingFiles = """
            FROM answer_files af JOIN answers a ON a.value = af.value JOIN work w ON w.value = a.value
            WHERE w.state = 0 AND a.answered_at >= ? AND a.source = ? AND a.payload IS w.payload
            """
        let (rows, generation) = try writeStreaming { db -> (Int, Int64?) in
            var result: (Int, Int64?) = (0, nil)
            try db.inTransaction {
                // The files first, so that no committed row points to a file that is not there.
                let files = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT af.path, af.kind, af.sha256, af.bytes, af.requested_at, af.api_path, af.http_status,
                            af.api_version, af.content_type, af.content
                        \(matchingFiles)
                        """,
                    arguments: [since, source]
                )
                while let row = try files.next() { try restore(Self.savedFile(row), Array(row[9] as Data)) }
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO files
                            (path, work_id, kind, sha256, bytes, requested_at, api_path, http_status, api_version, content_type)
                        SELECT af.path, w.id, af.kind, af.sha256, af.bytes, af.requested_at, af.api_path, af.http_status,
                            af.api_version, af.content_type
                        \(matchingFiles)
                        """,
                    arguments: [since, source]
                )
                let reused = try Row.fetchAll(
                    db,
                    sql: """
                        UPDATE work SET state = a.state, result = a.result, attempts = 0, error = NULL, updated_at = a.answered_at
                        FROM answers a WHERE a.value = work.value AND work.state = 0 AND a.answered_at >= ? AND a.source = ?
                            AND a.payload IS work.payload
                        RETURNING 1 + work.shared_rows
                        """,
                    arguments: [since, source]
                ).reduce(0) { $0 + ($1[0] as Int) }
                guard reused > 0 else { return .commit }
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('reused', ?)", arguments: [String(reused)])
                result = (reused, try self.raiseGeneration(db))
                return .commit
            }
            return result
        }
        recordGeneration(generation)
        return rows
    }

    package func forEachReusableAnswer(
        source: String, since: Double, includingCurrent: Bool, _ body: (KeptAnswer) throws -> Void
    ) async throws {
        try readStreaming { db in
            let current = """
                UNION ALL SELECT value, payload, state, result, updated_at FROM work
                WHERE state IN (\(WorkState.succeeded.rawValue), \(WorkState.notFound.rawValue)) AND updated_at >= ?
                """
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT value, payload, state, result, answered_at FROM answers WHERE answered_at >= ? AND source = ?
                    \(includingCurrent ? current : "") ORDER BY 5
                    """,
                arguments: includingCurrent ? [since, source, since] : [since, source]
            )
            while let row = try cursor.next() {
                try body(
                    KeptAnswer(
                        value: row[0], payload: row[1], state: WorkState(rawValue: row[2]) ?? .succeeded,
                        result: StoredFields.decode(row[3]), answeredAt: row[4]
                    )
                )
            }
        }
    }

    /// Adds answers as if an earlier campaign had kept them (`validate` counts what a run would reuse on a scratch
    /// state this way).
    package func addAnswers(_ answers: [KeptAnswer], source: String) throws {
        try writeStreaming { db in
            try db.inTransaction {
                let insert = try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO answers (value, state, result, answered_at, source, payload) VALUES (?, ?, ?, ?, ?, ?)"
                )
                for answer in answers {
                    try insert.execute(arguments: [
                        answer.value, answer.state.rawValue, StoredFields.encode(answer.result), answer.answeredAt, source, answer.payload,
                    ])
                }
                return .commit
            }
        }
    }

    /// A synchronous write, so that a non-escaping body can run inside it (GRDB's async write needs an escaping,
    /// Sendable one). Used at intake only, before any other task waits on the cooperative pool.
    private func writeStreaming<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.writeWithoutTransaction(body)
    }

    /// A ``SavedFile`` from the first nine columns of `row` (path, kind, sha256, bytes, requested_at, api_path,
    /// http_status, api_version, content_type).
    private static func savedFile(_ row: Row) -> SavedFile {
        SavedFile(
            path: row[0], kind: row[1], sha256: row[2], bytes: row[3], requestedAt: row[4], apiPath: row[5],
            httpStatus: row[6], apiVersion: row[7], contentType: row[8]
        )
    }
}
