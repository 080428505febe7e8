import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

@testable import Jobs

/// A whole job through the engine (intake, claims, workers, group commit, outputs) on an in-memory store and
/// transport and a manual clock: no process, no server, no real time.
@Suite(.timeLimit(.minutes(1))) struct JobRunnerTests {
    struct Setup {
        var configuration: JobConfiguration
        let store = InMemoryCheckpointStore()
        let clock = ManualClock()
        let transport: InMemoryTransport

        init(rows: Int, respond: @escaping @Sendable (InMemoryTransport.Sent, Int) async -> TransportOutcome) throws {
            let folder = NSTemporaryDirectory() + "batch-runner-engine-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let numbers = (1...rows).map { "0612\(String(format: "%06d", $0))" }
            try ("msisdn\n" + numbers.joined(separator: "\n") + "\n").write(toFile: folder + "/numbers.csv", atomically: true, encoding: .utf8)
            var configuration = JobConfiguration(
                kind: .numberVerify, jobFile: folder + "/job.yml", manifest: folder + "/numbers.csv", output: folder + "/out"
            )
            configuration.concurrency = 4
            configuration.endpoints = .init(base: "http://127.0.0.1:1/numberverify", token: "http://127.0.0.1:1/numberverify/token")
            self.configuration = configuration
            transport = InMemoryTransport(respond: respond)
        }

        func run(control: RunControl = RunControl(), options: RunOptions = RunOptions()) async -> RunResult {
            let (store, transport) = (self.store, self.transport)
            let environment = RunEnvironment(
                // No jitter: every backoff is zero, so retries need no virtual time.
                clock: EngineClock(clock), wallClock: WallClock { 1_700_000_000 }, jitter: { 0 },
                makeTransport: { _ in transport },
                openStore: { _, _ in
                    try store.beginRun()
                    return store
                }
            )
            return await JobRunner(
                configuration: configuration, credentials: ClientCredentials(id: "id", secret: "secret"),
                options: options, control: control, environment: environment, logger: Logger(label: "test")
            ).run()
        }

        func summary() throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: configuration.output + "/summary.json"))
            return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        }
    }

    static let token = #"{"access_token":"tok","expires_in":3600}"#
    static let insight = #"{"operator_lookup":{"operatorName":"KPN","regionCode":"NL","mcc":"204","mnc":"08"}}"#

    @Test func everyRowIsLookedUpOnceAndCommitted() async throws {
        let setup = try Setup(rows: 50) { sent, _ in
            sent.url.hasSuffix("/token") ? .json(200, Self.token) : .json(200, Self.insight)
        }
        let result = await setup.run()
        #expect(result.exitCode == 0)
        let counts = try await setup.store.counts()
        #expect(counts.succeeded == 50 && counts.pending == 0)
        let lookups = setup.transport.sent.filter { $0.url.contains("/insights/") }
        #expect(lookups.count == 50)
        #expect(Set(lookups.map(\.url)).count == 50)
        #expect(setup.transport.wasShutDown)
        #expect(try setup.summary()["requests"] as? Int == 51)
        let results = try String(contentsOfFile: setup.configuration.output + "/results.csv", encoding: .utf8)
        #expect(results.split(separator: "\n").count == 51)
        #expect(results.hasPrefix("row,key,msisdn,status,operator_name,region_code,mcc,mnc,device_match,attempts,error\n"))
        #expect(results.contains(",ok,KPN,NL,204,08,,1,"))
    }

    @Test func aCompletedJobRunAgainSendsNothing() async throws {
        let setup = try Setup(rows: 5) { sent, _ in
            sent.url.hasSuffix("/token") ? .json(200, Self.token) : .json(200, Self.insight)
        }
        #expect(await setup.run().exitCode == 0)
        await setup.store.endRun()
        let sentBefore = setup.transport.sent.count
        #expect(await setup.run().exitCode == 0)
        #expect(setup.transport.sent.count == sentBefore, "not even a token")
    }

    @Test func aStopCancelsTheRowsInFlightLeavesThemPendingAndExits75() async throws {
        let clock = Mutex<ManualClock?>(nil)
        let setup = try Setup(rows: 20) { sent, _ in
            if sent.url.hasSuffix("/token") { return .json(200, Self.token) }
            // Every lookup hangs for a minute of virtual time.
            try? await clock.withLock { $0! }.sleep(for: .seconds(60))
            return .json(200, Self.insight)
        }
        clock.withLock { $0 = setup.clock }
        let control = RunControl()
        // The grace itself is the worker pool's (WorkerPoolTests); here rows in flight are cancelled at once.
        var options = RunOptions()
        options.shutdownGrace = .zero
        async let result = setup.run(control: control, options: options)
        // The progress monitor's tick and at least one lookup in flight.
        await setup.clock.waitForSleepers(2)
        control.requestStop(JobError(.stoppedResumable, "Stopped by SIGTERM; progress is saved."))
        let ended = await result
        #expect(ended.exitCode == 75)
        let counts = try await setup.store.counts()
        #expect(counts.pending == 20)
        #expect(try setup.summary()["pending"] as? Int == 20)
    }

    @Test func transientFaultsAreRetriedAndCountedInTheSummary() async throws {
        // Every third lookup fails once with 503, then succeeds.
        let failedOnce = Mutex<Set<String>>([])
        let setup = try Setup(rows: 60) { sent, _ in
            if sent.url.hasSuffix("/token") { return .json(200, Self.token) }
            let number = String(sent.url.suffix(11))
            let fails = Int(number.suffix(2))! % 3 == 0 && failedOnce.withLock { $0.insert(number).inserted }
            return fails ? .json(503, "{}") : .json(200, Self.insight)
        }
        #expect(await setup.run().exitCode == 0)
        let faults = failedOnce.withLock { $0.count }
        #expect(faults == 20)
        let summary = try setup.summary()
        #expect(summary["retries"] as? Int == faults)
        #expect(summary["requests"] as? Int == 1 + 60 + faults)
        let rows = try String(contentsOfFile: setup.configuration.output + "/results.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.allSatisfy { $0.contains(",ok,") })
        let attempts = rows.map { Int($0.split(separator: ",", omittingEmptySubsequences: false)[9])! }
        #expect(attempts.reduce(0, +) == 60 + faults)
    }

    @Test func tokensThatExpireDuringTheRunAreRenewed() async throws {
        let expired = #"{"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"oauth.v2.AccessTokenExpired"}}}"#
        let minted = Counter()
        let setup = try Setup(rows: 40) { sent, index in
            if sent.url.hasSuffix("/token") { return .json(200, #"{"access_token":"t\#(minted.increment())","expires_in":3600}"#) }
            // The first token stops working after twenty requests.
            return sent.token == "t1" && index > 20 ? .json(401, expired) : .json(200, Self.insight)
        }
        #expect(await setup.run().exitCode == 0)
        #expect(try await setup.store.counts().succeeded == 40)
        #expect(minted.current == 2)
    }

    @Test func aServiceThatFailsEverythingStopsTheRunResumableWithEveryRowPending() async throws {
        var setup = try Setup(rows: 100) { sent, _ in
            sent.url.hasSuffix("/token") ? .json(200, Self.token) : .json(503, "{}")
        }
        // The retry budget judges the service on ten answers. With no backoff and no latency one worker could
        // spend a row's six attempts before any other sends, and that row alone cannot tell a service that is
        // down from a row the service cannot serve (it fails); here the evidence spans rows, as it does with
        // real latency.
        setup.configuration.retry.maxAttempts = 20
        let result = await setup.run()
        #expect(result.exitCode == 75)
        #expect(result.message?.contains("failed") == true)
        let summary = try setup.summary()
        #expect(summary["failed"] as? Int == 0)
        #expect(summary["pending"] as? Int == 100)
    }

    @Test func refusedCredentialsStopTheRunWith69AndNoRowFails() async throws {
        let setup = try Setup(rows: 10) { _, _ in .json(401, #"{"error":"invalid_client"}"#) }
        let result = await setup.run()
        #expect(result.exitCode == 69)
        #expect(try await setup.store.counts().failed == 0)
    }
}
