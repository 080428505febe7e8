import Foundation
import GRDB

extension SQLiteCheckpointStore {
    /// The schema, versioned: a state made by an earlier version is migrated, with its progress, when opened.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE rows (
                        row INTEGER PRIMARY KEY,
                        key TEXT,
                        value TEXT NOT NULL,
                        payload TEXT,
                        reject_reason TEXT
                    );
                    CREATE TABLE work (
                        id INTEGER PRIMARY KEY,
                        value TEXT NOT NULL UNIQUE,
                        payload TEXT,
                        state INTEGER NOT NULL DEFAULT 0,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT,
                        updated_at REAL
                    );
                    CREATE INDEX work_by_state ON work (state, id);
                    CREATE TABLE quota (
                        limiter TEXT PRIMARY KEY,
                        quota_limit INTEGER NOT NULL,
                        used INTEGER NOT NULL,
                        window_seconds REAL,
                        reset_epoch REAL,
                        server_clock_offset REAL NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v2-files") { db in
            try db.execute(
                sql: """
                    CREATE TABLE files (
                        path TEXT PRIMARY KEY,
                        work_id INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        requested_at TEXT NOT NULL,
                        api_path TEXT NOT NULL,
                        http_status INTEGER NOT NULL,
                        api_version TEXT NOT NULL,
                        content_type TEXT NOT NULL
                    );
                    CREATE INDEX files_by_work ON files (work_id);
                    """
            )
        }
        migrator.registerMigration("v3-work-carries-first-row") { db in
            // One write per row at intake: the first row of every value is its work item's row; only rejected
            // rows and rows sharing an earlier row's item go to `extra_rows`. Row counts by state are kept by a
            // trigger instead of being counted by a join at every start and exit.
            try db.execute(
                sql: """
                    CREATE TABLE work_v3 (
                        id INTEGER PRIMARY KEY,
                        key TEXT,
                        value TEXT NOT NULL,
                        payload TEXT,
                        shared_rows INTEGER NOT NULL DEFAULT 0,
                        state INTEGER NOT NULL DEFAULT 0,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT,
                        updated_at REAL
                    );
                    INSERT INTO work_v3 (id, key, value, payload, shared_rows, state, attempts, result, error, updated_at)
                        SELECT first.row, r.key, w.value, w.payload, first.n - 1, w.state, w.attempts, w.result, w.error, w.updated_at
                        FROM (SELECT value, min(row) AS row, count(*) AS n FROM rows WHERE reject_reason IS NULL GROUP BY value) first
                        JOIN rows r ON r.row = first.row
                        JOIN work w ON w.value = first.value;
                    CREATE TABLE extra_rows (
                        row INTEGER PRIMARY KEY,
                        key TEXT,
                        value TEXT NOT NULL,
                        reject_reason TEXT,
                        work_id INTEGER
                    );
                    INSERT INTO extra_rows (row, key, value, reject_reason, work_id)
                        SELECT r.row, r.key, r.value, r.reject_reason, CASE WHEN r.reject_reason IS NULL THEN w.id END
                        FROM rows r LEFT JOIN work_v3 w ON w.value = r.value
                        WHERE r.reject_reason IS NOT NULL OR w.id != r.row;
                    UPDATE files SET work_id = (
                        SELECT n.id FROM work o JOIN work_v3 n ON n.value = o.value WHERE o.id = files.work_id
                    );
                    DELETE FROM meta WHERE key IN ('rows', 'rejected');
                    INSERT INTO meta (key, value)
                        SELECT 'rows', count(*) FROM rows UNION ALL
                        SELECT 'rejected', count(*) FROM rows WHERE reject_reason IS NOT NULL;
                    DROP TABLE rows;
                    DROP TABLE work;
                    ALTER TABLE work_v3 RENAME TO work;
                    CREATE INDEX work_finished ON work (id) WHERE state != 0;
                    CREATE TABLE state_counts (
                        state INTEGER PRIMARY KEY,
                        rows INTEGER NOT NULL DEFAULT 0,
                        items INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO state_counts (state, rows, items)
                        SELECT s.state, coalesce(sum(1 + w.shared_rows), 0), count(w.id)
                        FROM (SELECT 0 AS state UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) s
                        LEFT JOIN work w ON w.state = s.state GROUP BY s.state;
                    CREATE TRIGGER work_state_counts AFTER UPDATE OF state ON work WHEN OLD.state != NEW.state BEGIN
                        UPDATE state_counts SET rows = rows - 1 - OLD.shared_rows, items = items - 1 WHERE state = OLD.state;
                        UPDATE state_counts SET rows = rows + 1 + NEW.shared_rows, items = items + 1 WHERE state = NEW.state;
                    END;
                    """
            )
        }
        migrator.registerMigration("v4-learned-rate") { db in
            // A gateway without quota headers has no limit to save, only the rate the limiter learned from its 429s.
            try db.execute(
                sql: """
                    CREATE TABLE quota_v4 (
                        limiter TEXT PRIMARY KEY,
                        quota_limit INTEGER,
                        used INTEGER NOT NULL,
                        window_seconds REAL,
                        reset_epoch REAL,
                        server_clock_offset REAL NOT NULL,
                        learned_rate REAL,
                        learned_window REAL
                    );
                    INSERT INTO quota_v4 (limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset)
                        SELECT limiter, quota_limit, used, window_seconds, reset_epoch, server_clock_offset FROM quota;
                    DROP TABLE quota;
                    ALTER TABLE quota_v4 RENAME TO quota;
                    """
            )
        }
        migrator.registerMigration("v5-not-found") { db in
            // A number the service does not know is a finished state of its own (WorkState.notFound), counted too.
            try db.execute(sql: "INSERT OR IGNORE INTO state_counts (state, rows, items) VALUES (5, 0, 0)")
        }
        migrator.registerMigration("v6-answers") { db in
            // Answers of earlier campaigns, kept for `reuse` (one per value: the latest).
            try db.execute(
                sql: "CREATE TABLE answers (value TEXT PRIMARY KEY, state INTEGER NOT NULL, result TEXT, answered_at REAL NOT NULL, source TEXT NOT NULL)"
            )
        }
        migrator.registerMigration("v7-answer-requests-and-files") { db in
            // An answer is reused only for the same request (value and payload), with the files it saved.
            try db.execute(
                sql: """
                    ALTER TABLE answers ADD COLUMN payload TEXT;
                    CREATE TABLE answer_files (
                        value TEXT NOT NULL,
                        path TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        requested_at TEXT NOT NULL,
                        api_path TEXT NOT NULL,
                        http_status INTEGER NOT NULL,
                        api_version TEXT NOT NULL,
                        content_type TEXT NOT NULL,
                        content BLOB NOT NULL,
                        PRIMARY KEY (value, path)
                    );
                    """
            )
        }
        return migrator
    }

}
