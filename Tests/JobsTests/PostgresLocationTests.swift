import Testing

@testable import Jobs

/// How `state:` names a PostgreSQL store: libpq's URL form, no password in it, messages that never quote one.
@Suite struct PostgresLocationTests {
    @Test func aURLNamesUserHostPortDatabaseAndSSLMode() throws {
        let location = try PostgresLocation(url: "postgresql://batch@db.internal:6543/batchrunner?sslmode=verify-full&connect_timeout=4")
        #expect(location.user == "batch")
        #expect(location.host == "db.internal")
        #expect(location.port == 6543)
        #expect(location.database == "batchrunner")
        #expect(location.sslMode == .verifyFull)
        #expect(location.connectTimeout == 4)
        #expect(location.description == "postgresql://batch@db.internal:6543/batchrunner")
        #expect(try StoreLocation("postgres://batch@db/x") == .postgres(try PostgresLocation(url: "postgres://batch@db/x")))
    }

    /// A host across a network gets verified TLS unless the URL says otherwise, as the API side does; the
    /// loopback interface keeps libpq's `prefer`.
    @Test func theDefaultModeIsVerifiedTLSAcrossANetwork() throws {
        let remote = try PostgresLocation(url: "postgresql://batch@db/batchrunner")
        #expect(remote.port == 5432)
        #expect(remote.sslMode == .verifyFull && !remote.sslModeIsExplicit)
        #expect(remote.weakTLSWarning == nil)
        #expect(try PostgresLocation(url: "postgresql://batch@10.1.2.3/x").sslMode == .verifyFull)
        #expect(try PostgresLocation(url: "postgresql://batch@127.0.0.1.nip.io/x").sslMode == .verifyFull, "a name, not the loopback interface")
        for local in ["127.0.0.1", "127.0.0.2:6543", "localhost", "[::1]"] {
            #expect(try PostgresLocation(url: "postgresql://batch@\(local)/x").sslMode == .prefer, "\(local)")
        }
    }

    /// A weaker mode the URL names still works, with a warning that says what it gives up; none on loopback.
    @Test(arguments: [("disable", "not encrypted"), ("prefer", "not checked"), ("require", "not checked")])
    func aWeakerModeNamedForARemoteHostIsWarnedAbout(mode: String, givesUp: String) throws {
        let location = try PostgresLocation(url: "postgresql://batch@db.internal/x?sslmode=\(mode)")
        #expect(location.sslMode.rawValue == mode)
        let warning = try #require(location.weakTLSWarning)
        #expect(warning.contains("sslmode=\(mode) to db.internal:5432") && warning.contains(givesUp) && warning.contains("verify-full"))
        #expect(try PostgresLocation(url: "postgresql://batch@127.0.0.1/x?sslmode=\(mode)").weakTLSWarning == nil)
        #expect(try PostgresLocation(url: "postgresql://batch@db.internal/x?sslmode=verify-full").weakTLSWarning == nil)
    }

    @Test(arguments: [
        ("postgresql://batch:s3cret@db/x", "state_password_env"),
        ("postgresql://db/x", "names no user"),
        ("postgresql://batch@db", "names no database"),
        ("postgresql://batch@db/x?sslmode=allow", "use one of disable, prefer, require, verify-full"),
        ("postgresql://batch@db/x?sslcert=a.pem", "does not read"),
        ("postgresql://batch@db/x?connect_timeout=0", "whole seconds"),
    ])
    func aURLThatCannotBeUsedSaysWhatIsWrong(url: String, fragment: String) {
        #expect {
            try PostgresLocation(url: url)
        } throws: { error in
            guard case StoreError.invalidLocation(let problem) = error else { return false }
            return problem.contains(fragment) && !problem.contains("s3cret")
        }
    }

    @Test func theJobFileReadsTheSharedStoreKeys() throws {
        let job = try JobFile.parse(
            """
            kind: number-verify
            manifest: n.csv
            state: postgresql://batch@db.internal/batchrunner
            state_password_env: BATCH_PG_PASSWORD
            campaign: dec-cleanup
            lease: 45s
            """,
            path: "/jobs/nv.yml"
        )
        #expect(job.state == "postgresql://batch@db.internal/batchrunner")
        #expect(job.statePasswordVariable == "BATCH_PG_PASSWORD")
        #expect(job.campaignName == "dec-cleanup")
        #expect(job.lease == .seconds(45))
        let defaults = try JobFile.parse("kind: number-verify\nmanifest: n.csv\n", path: "/jobs/nv.yml")
        #expect(defaults.campaignName == "nv")
        #expect(defaults.statePasswordVariable == "PGPASSWORD")
        #expect(defaults.lease == .seconds(30))
        #expect(throws: JobFileError.self) { try JobFile.parse("kind: number-verify\nmanifest: n.csv\nlease: 1s\n", path: "/jobs/nv.yml") }
        #expect(throws: JobFileError.self) {
            try JobFile.parse("kind: number-verify\nmanifest: n.csv\nstate: postgresql://u:pw@db/x\n", path: "/jobs/nv.yml")
        }
    }

    /// Database errors by SQLSTATE class: lost or timed out 75, refused 69, disk full 74 with the disk advice,
    /// anything else 70 with its SQLSTATE and message; the message names the place and the operation.
    @Test func databaseErrorsMapByTheirClass() {
        let location = "127.0.0.1:5432/batch"
        let timedOut = ExitTable.jobError(for: StoreError.stateTimedOut(location: location, operation: "commit finished rows", timeout: .seconds(5)))
        #expect(timedOut.code.exitCode == 75)
        #expect(timedOut.message.contains(location) && timedOut.message.contains("commit finished rows") && timedOut.message.contains("state_timeout (5s)"))
        let lost = ExitTable.jobError(for: StoreError.connectionLost(location: location, operation: "claim rows"))
        #expect(lost.code.exitCode == 75 && lost.message.contains("claim rows"))
        #expect(ExitTable.jobError(for: StoreError.databaseRefused(location: location, message: "password authentication failed")).code.exitCode == 69)
        let full = ExitTable.jobError(for: StoreError.databaseFull(location: location, message: "could not extend file"))
        #expect(full.code.exitCode == 74 && full.message.contains("disk is full"))
        let other = ExitTable.jobError(for: StoreError.databaseFailed(location: location, sqlState: "XX000", message: "internal error"))
        #expect(other.code.exitCode == 70 && other.message.contains("XX000") && other.message.contains("internal error"))
        #expect(!other.message.contains("disk"), "no disk advice for an error that is not about the disk")
    }

    @Test func unusableDatabasesEndWith69AndALostOneWith75() {
        #expect(ExitTable.jobError(for: StoreError.databaseUnavailable(location: "postgresql://u@db:5432/x", reason: "refused")).code.exitCode == 69)
        #expect(ExitTable.jobError(for: StoreError.connectionLost(location: "postgresql://u@db:5432/x", operation: "claim rows")).code.exitCode == 75)
        #expect(ExitTable.jobError(for: StoreError.campaignBusy(campaign: "c", workers: 2)).code.exitCode == 75)
        #expect(ExitTable.jobError(for: StoreError.invalidLocation("x")).code.exitCode == 78)
    }
}
