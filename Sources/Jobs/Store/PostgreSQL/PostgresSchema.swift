import Logging
import PostgresNIO

/// The PostgreSQL schema, versioned and migrated by the runner itself. Several workers may start at once: the
/// migration runs under a transaction-level advisory lock, so one migrates and the others find it done. The
/// database user needs only the right to create tables in its schema, no superuser.
enum PostgresSchema {
    /// The version this runner writes; a database at a higher one belongs to a newer runner.
    static let version = 9

    /// Every table is named `batch_runner_*`, so the tool shares a database with others without a clash.
    static let migrations: [String] = [
        """
        CREATE TABLE batch_runner_campaigns (
            campaign text PRIMARY KEY,
            manifest_sha256 text,
            job text,
            rows bigint NOT NULL DEFAULT 0,
            rejected bigint NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE batch_runner_work (
            campaign text NOT NULL,
            id bigint NOT NULL,
            key text,
            value text NOT NULL,
            payload text,
            shared_rows integer NOT NULL DEFAULT 0,
            state smallint NOT NULL DEFAULT 0,
            attempts integer NOT NULL DEFAULT 0,
            result text,
            error text,
            updated_at timestamptz,
            owner bigint,
            PRIMARY KEY (campaign, id)
        );
        CREATE INDEX batch_runner_work_pending ON batch_runner_work (campaign, id) WHERE state = 0;
        CREATE INDEX batch_runner_work_owned ON batch_runner_work (owner) WHERE owner IS NOT NULL;
        CREATE TABLE batch_runner_extra_rows (
            campaign text NOT NULL,
            row bigint NOT NULL,
            key text,
            value text NOT NULL,
            reject_reason text,
            work_id bigint,
            PRIMARY KEY (campaign, row)
        );
        CREATE TABLE batch_runner_files (
            campaign text NOT NULL,
            path text NOT NULL,
            work_id bigint NOT NULL,
            kind text NOT NULL,
            sha256 text NOT NULL,
            bytes bigint NOT NULL,
            requested_at text NOT NULL,
            api_path text NOT NULL,
            http_status integer NOT NULL,
            api_version text NOT NULL,
            content_type text NOT NULL,
            content bytea,
            PRIMARY KEY (campaign, path)
        );
        CREATE INDEX batch_runner_files_by_work ON batch_runner_files (campaign, work_id);
        CREATE TABLE batch_runner_workers (
            id bigserial PRIMARY KEY,
            campaign text NOT NULL,
            host text NOT NULL,
            pid integer NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now(),
            lease_until timestamptz NOT NULL,
            ended_at timestamptz
        );
        CREATE INDEX batch_runner_workers_by_campaign ON batch_runner_workers (campaign, lease_until);
        CREATE TABLE batch_runner_quota (
            limiter text PRIMARY KEY,
            quota_limit integer NOT NULL,
            used integer NOT NULL,
            window_seconds double precision,
            reset_epoch double precision,
            server_clock_offset double precision NOT NULL
        );
        CREATE TABLE batch_runner_shared_quota (
            limiter text PRIMARY KEY,
            quota_limit integer,
            window_seconds double precision,
            reset_epoch double precision,
            granted integer NOT NULL DEFAULT 0,
            paused_until double precision,
            probe_until double precision,
            headerless_until double precision,
            ended_reset double precision
        );
        """,
        // 2: the shared adaptive rate (quota-less gateways).
        """
        ALTER TABLE batch_runner_shared_quota
            ADD COLUMN adaptive_rate double precision,
            ADD COLUMN next_slot double precision,
            ADD COLUMN successes integer NOT NULL DEFAULT 0,
            ADD COLUMN successes_since double precision,
            ADD COLUMN successes_until double precision,
            ADD COLUMN throttles integer NOT NULL DEFAULT 0,
            ADD COLUMN generation integer NOT NULL DEFAULT 0;
        """,
        // 3: the work table partitioned by campaign. An intake loads a fresh partition of its own, without
        // indexes, builds them after the load (a sort, many times faster than a million index inserts) and
        // attaches it. The rows from before stay in the default partition.
        """
        ALTER TABLE batch_runner_work RENAME TO batch_runner_work_default;
        ALTER INDEX batch_runner_work_pkey RENAME TO batch_runner_work_default_pkey;
        ALTER INDEX batch_runner_work_pending RENAME TO batch_runner_work_default_pending;
        ALTER INDEX batch_runner_work_owned RENAME TO batch_runner_work_default_owned;
        CREATE TABLE batch_runner_work (
            campaign text NOT NULL,
            id bigint NOT NULL,
            key text,
            value text NOT NULL,
            payload text,
            shared_rows integer NOT NULL DEFAULT 0,
            state smallint NOT NULL DEFAULT 0,
            attempts integer NOT NULL DEFAULT 0,
            result text,
            error text,
            updated_at timestamptz,
            owner bigint,
            PRIMARY KEY (campaign, id)
        ) PARTITION BY LIST (campaign);
        CREATE INDEX batch_runner_work_pending ON batch_runner_work (campaign, id) WHERE state = 0;
        CREATE INDEX batch_runner_work_owned ON batch_runner_work (owner) WHERE owner IS NOT NULL;
        ALTER TABLE batch_runner_work ATTACH PARTITION batch_runner_work_default DEFAULT;
        """,
        // 4: each partition keys its items by id alone (a campaign's partition would repeat the campaign in every
        // entry: wider indexes, slower to build after a load), and a partial index of the finished items lets counts,
        // results and the settling of interrupted sends read only those. The campaign keeps its item count, so the
        // pending counts follow from the finished ones. The default partition, holding many campaigns, keeps the
        // campaign in its keys.
        """
        ALTER TABLE batch_runner_work DROP CONSTRAINT batch_runner_work_pkey;
        DROP INDEX batch_runner_work_pending;
        DROP INDEX batch_runner_work_owned;
        ALTER TABLE batch_runner_work_default ADD PRIMARY KEY (campaign, id);
        CREATE INDEX batch_runner_work_default_pending ON batch_runner_work_default (campaign, id) WHERE state = 0;
        CREATE INDEX batch_runner_work_default_owned ON batch_runner_work_default (owner) WHERE owner IS NOT NULL;
        CREATE INDEX batch_runner_work_default_finished ON batch_runner_work_default (campaign, id) WHERE state <> 0;
        DO $$ DECLARE part text; BEGIN FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'batch_runner_work'::regclass AND c.relname <> 'batch_runner_work_default' LOOP EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (id)', part, part || '_pkey'); EXECUTE format('CREATE INDEX %I ON %I (id) WHERE state = 0', part || '_pending', part); EXECUTE format('CREATE INDEX %I ON %I (owner) WHERE owner IS NOT NULL', part || '_owned', part); EXECUTE format('CREATE INDEX %I ON %I (id) WHERE state <> 0', part || '_finished', part); END LOOP; END $$;
        ALTER TABLE batch_runner_campaigns ADD COLUMN items bigint;
        """,
        // 5: a gateway without quota headers saves the rate the limiter learned, not a limit.
        """
        ALTER TABLE batch_runner_quota ALTER COLUMN quota_limit DROP NOT NULL,
            ADD COLUMN learned_rate double precision,
            ADD COLUMN learned_window double precision;
        """,
        // 6: what made a campaign and where its results came from (StateProvenance, as JSON).
        """
        ALTER TABLE batch_runner_campaigns ADD COLUMN provenance text;
        """,
        // 7: answers of a campaign's earlier runs, kept for `reuse` (the latest per value), and how many rows of
        // the campaign were finished with one.
        """
        CREATE TABLE batch_runner_answers (
            campaign text NOT NULL,
            value text NOT NULL,
            state smallint NOT NULL,
            result text,
            answered_at timestamptz NOT NULL,
            source text NOT NULL,
            PRIMARY KEY (campaign, value)
        );
        ALTER TABLE batch_runner_campaigns ADD COLUMN reused bigint NOT NULL DEFAULT 0;
        """,
        // 8: an answer is reused only for the same request (value and payload), with the files it saved.
        """
        ALTER TABLE batch_runner_answers ADD COLUMN payload text;
        CREATE TABLE batch_runner_answer_files (
            campaign text NOT NULL,
            value text NOT NULL,
            path text NOT NULL,
            kind text NOT NULL,
            sha256 text NOT NULL,
            bytes bigint NOT NULL,
            requested_at text NOT NULL,
            api_path text NOT NULL,
            http_status integer NOT NULL,
            api_version text NOT NULL,
            content_type text NOT NULL,
            content bytea,
            PRIMARY KEY (campaign, value, path)
        );
        """,
        // 9: the shared quota as one value (SharedQuota, as JSON): without quota headers it holds the one learner
        // of every worker. A ledger from before starts over (its pause and rate are at most a window old).
        """
        ALTER TABLE batch_runner_shared_quota DROP COLUMN quota_limit, DROP COLUMN window_seconds, DROP COLUMN reset_epoch,
            DROP COLUMN granted, DROP COLUMN paused_until, DROP COLUMN probe_until, DROP COLUMN headerless_until,
            DROP COLUMN ended_reset, DROP COLUMN adaptive_rate, DROP COLUMN next_slot, DROP COLUMN successes,
            DROP COLUMN successes_since, DROP COLUMN successes_until, DROP COLUMN throttles, DROP COLUMN generation,
            ADD COLUMN state text;
        """,
    ]

    /// Brings the database to ``version``.
    ///
    /// - Throws: ``StoreError/newerSchema(location:version:)`` when a newer runner set it up.
    static func migrate(_ connections: PostgresConnections) async throws {
        try await connections.with("set up the schema", transaction: .once) { connection in
            let logger = connections.logger
            try await connection.query("SELECT pg_advisory_xact_lock(7260411912345)", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS batch_runner_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)",
                logger: logger
            )
            var current = 0
            for version in try await connection.query("SELECT version FROM batch_runner_schema", logger: logger).decode(Int.self) {
                current = version
            }
            guard current <= version else {
                throw StoreError.newerSchema(location: connections.location.description, version: current)
            }
            for step in migrations.indices where step >= current {
                // One statement per query: the extended protocol takes no more.
                for statement in migrations[step].split(separator: ";\n") where !statement.allSatisfy(\.isWhitespace) {
                    try await connection.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                }
            }
            if current < version {
                try await connection.query(
                    "INSERT INTO batch_runner_schema (id, version) VALUES (1, \(version)) ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
                    logger: logger
                )
            }
        }
    }
}
