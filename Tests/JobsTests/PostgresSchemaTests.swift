import Foundation
import Logging
@testable import RateLimiter
import Testing
import TestSupport

@testable import Jobs

/// The runner migrates its own schema: a database set up by an older runner is brought up to date with its
/// campaigns kept, one set up by a newer runner is refused before anything is written, and the shared ledger
/// keeps every field of the quota model.
@Suite struct PostgresSchemaTests {
    /// A new, empty database owned by the runner's user.
    private func freshDatabase() throws -> (PostgresServer, String) {
        let server = try PostgresServer.shared()
        let name = "schema_" + UUID().uuidString.prefix(8).lowercased()
        _ = try server.psql("CREATE DATABASE \(name) OWNER \(PostgresServer.user)")
        return (server, name)
    }

    private func open(_ server: PostgresServer, database: String) async throws -> PostgresCheckpointStore {
        let url = "postgresql://\(PostgresServer.user)@127.0.0.1:\(server.port)/\(database)?sslmode=disable"
        return try await PostgresCheckpointStore.open(
            try PostgresLocation(url: url), password: PostgresServer.password, trust: TrustSettings(), campaign: "schema",
            lease: .seconds(30), outputFolder: try TemporaryFiles.folder(), access: .run, logger: Logger(label: "test")
        )
    }

    @Test func aVersionOneDatabaseIsMigratedAndKeepsItsQuotaRows() async throws {
        let (server, database) = try freshDatabase()
        // What the first runner with PostgreSQL left: its tables, version 1, and one shared quota row.
        let setUp = PostgresSchema.migrations[0] + """
            ;
            CREATE TABLE batch_runner_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL);
            INSERT INTO batch_runner_schema VALUES (1, 1);
            INSERT INTO batch_runner_shared_quota (limiter, quota_limit, granted) VALUES ('old', 75, 12);
            """
        _ = try server.psql("SET ROLE \(PostgresServer.user);\n" + setUp, database: database)
        let store = try await open(server, database: database)
        let version = try server.psql("SELECT version FROM batch_runner_schema", database: database)
        #expect(version.trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresSchema.version)")
        // Since version 9 the ledger is one value: an older one starts over (its pause is at most a window old).
        let old = try await store.update("old") { $0 }
        #expect(old == SharedQuota())
    }

    @Test func aVersionThreeCampaignPartitionIsReindexedAndKeepsItsCounts() async throws {
        let (server, database) = try freshDatabase()
        // A campaign taken in by a version-3 runner: its partition carries the parent's keys, campaign included.
        let partition = PostgresCheckpointStore.workPartition(of: "schema")
        let setUp = PostgresSchema.migrations[0...2].joined(separator: ";\n") + """
            ;
            CREATE TABLE batch_runner_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL);
            INSERT INTO batch_runner_schema VALUES (1, 3);
            INSERT INTO batch_runner_campaigns (campaign, manifest_sha256, job, rows, rejected) VALUES ('schema', 'abc', 'number-verify', 4, 1);
            CREATE TABLE \(partition) (LIKE batch_runner_work INCLUDING DEFAULTS);
            INSERT INTO \(partition) (campaign, id, value, state, shared_rows) VALUES
                ('schema', 1, '31612345671', 1, 0), ('schema', 2, '31612345672', 0, 1), ('schema', 4, '31612345674', 2, 0);
            ALTER TABLE \(partition) ADD PRIMARY KEY (campaign, id);
            ALTER TABLE batch_runner_work ATTACH PARTITION \(partition) FOR VALUES IN ('schema');
            """
        _ = try server.psql("SET ROLE \(PostgresServer.user);\n" + setUp, database: database)
        let store = try await open(server, database: database)
        let indexes = try server.psql("SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename = '\(partition)'", database: database)
        #expect(indexes.trimmingCharacters(in: .whitespacesAndNewlines) == ["finished", "owned", "pending", "pkey"].map { partition + "_" + $0 }.joined(separator: " "))
        // Counted whole (the campaign does not know its items): one pending item for two rows.
        let counts = try await store.counts()
        #expect(counts.rows == 4 && counts.rejected == 1 && counts.succeeded == 1 && counts.failed == 1)
        #expect(counts.pending == 2 && counts.pendingWork == 1)
        #expect(try await store.claim(limit: 5).map(\.id) == [2])
    }

    @Test func aDatabaseOfANewerRunnerIsRefused() async throws {
        let (server, database) = try freshDatabase()
        _ = try server.psql(
            """
            SET ROLE \(PostgresServer.user);
            CREATE TABLE batch_runner_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL);
            INSERT INTO batch_runner_schema VALUES (1, 99);
            """,
            database: database
        )
        await #expect {
            _ = try await open(server, database: database)
        } throws: { error in
            guard case StoreError.newerSchema(_, let version) = error else { return false }
            return version == 99
        }
    }

    @Test func theSharedLedgerKeepsEveryFieldOfTheQuotaModel() async throws {
        let store = try await StoreKind.openPostgres(campaign: "ledger-" + UUID().uuidString)
        let limiter = "ledger-" + UUID().uuidString
        var expected = SharedQuota()
        expected.limit = 75
        (expected.windowSeconds, expected.resetEpoch, expected.granted) = (60, 1_060.5, 7)
        (expected.pausedUntil, expected.probeUntil, expected.headerlessUntil, expected.endedReset) = (1_001, 1_002, 1_003, 1_000)
        (expected.throttles, expected.generation) = (2, 5)
        expected.learner.restore(ratePerSecond: 1.25, window: .seconds(60))
        expected.recordHeaderless(41, at: 1_000.5, generation: 5)
        let written = expected
        _ = try await store.update(limiter) { $0 = written }
        let read = try await store.update(limiter) { $0 }
        #expect(read == expected)
    }
}
