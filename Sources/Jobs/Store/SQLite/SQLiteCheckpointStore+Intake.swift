import GRDB

extension SQLiteCheckpointStore {
    package func intakeSignature() async throws -> IntakeSignature? {
        try await queue.read { db in
            let values = try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key IN ('manifest_sha256', 'job')")
            var map: [String: String] = [:]
            for row in values { map[row[0]] = row[1] }
            guard let sha = map["manifest_sha256"], let job = map["job"] else { return nil }
            return IntakeSignature(manifestSHA256: sha, job: job)
        }
    }

    package func replaceIntake(from source: any IntakeSource, duplicateReason: DuplicateReason?) async throws -> IntakeSignature {
        try await queue.writeWithoutTransaction { db in
            // A rollback journal for this one large transaction: WAL would write every new page twice (into the
            // log, then into the database at the checkpoint). It is just as atomic; WAL comes back right after.
            // If another process reads the state now (`status`), the switch is refused and WAL simply stays.
            let isFile = !db.configuration.readonly && self.path != ":memory:"
            if isFile { _ = try? String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE") }
            defer { if isFile { _ = try? String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") } }
            var signature: IntakeSignature?
            try db.inTransaction {
                try db.execute(
                    sql: """
                        DELETE FROM meta WHERE key <> 'generation'; DELETE FROM work; DELETE FROM extra_rows; DELETE FROM quota; DELETE FROM files;
                        UPDATE state_counts SET rows = 0, items = 0;
                        """
                )
                var writer = try SQLiteIntakeWriter(db, duplicateReason: duplicateReason)
                while let batch = try source.nextBatch() {
                    for item in batch { try writer.write(item.row, maybeSeen: item.maybeRepeated) }
                }
                let made = try source.signature()
                try writer.finish()
                try db.execute(
                    sql: "UPDATE state_counts SET rows = ?, items = ? WHERE state = 0",
                    arguments: [writer.accepted, writer.items]
                )
                try db.execute(
                    sql: "INSERT INTO meta (key, value) VALUES ('manifest_sha256', ?), ('job', ?), ('rows', ?), ('rejected', ?)",
                    arguments: [made.manifestSHA256, made.job, String(writer.rows), String(writer.rejected)]
                )
                signature = made
                self.resetClaims()
                return .commit
            }
            return signature!
        }
    }
}
