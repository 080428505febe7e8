import Synchronization
import Testing
import TestSupport

@testable import Jobs

/// Number Verify's device-match polling and its timeout, in virtual time.
@Suite(.timeLimit(.minutes(1))) struct PollingTests {
    func job() throws -> NumberVerifyJob {
        let text = """
            kind: number-verify
            manifest: numbers.csv
            number_verify: { scopes: [operator_lookup, device_match], poll_interval: 2s, poll_timeout: 7s }
            """
        return NumberVerifyJob(configuration: try JobFile.parse(text, path: "/tmp/x/job.yml"))
    }

    let insight = #"{"operator_lookup":{"operatorName":"KPN","regionCode":"NL","mcc":"204","mnc":"08"},"device_match":{"polling_id":"a1"}}"#

    @Test func aDeviceMatchNotKnownBeforeThePollTimeoutIsRecordedPending() async throws {
        let insight = self.insight
        let harness = ClientHarness { sent, _ in
            sent.url.hasSuffix("/polling/a1") ? .json(200, #"{"device_match":null}"#) : .json(200, insight)
        }
        let context = RowContext(item: WorkItem(id: 1, value: "31612345678", payload: nil, attempts: 0), client: harness.client, journal: SendJournal { _ in })
        async let outcome = try job().perform(context.item, context: context)
        // Polls at 0, 2, 4 s; the next one (6 s) would be the last before 7 s; 8 s is past the timeout.
        for _ in 1...3 { await harness.advanceOnceAsleep(by: .seconds(2)) }
        guard case .succeeded(let result, _, _) = try await outcome else {
            Issue.record("the lookup should succeed")
            return
        }
        #expect(result.deviceMatch == "pending")
        #expect(result.operatorName == "KPN")
        #expect(harness.transport.sent.filter { $0.url.hasSuffix("/polling/a1") }.count == 4)
        #expect(context.attempts == 1, "polls do not count as the row's attempts")
    }

    @Test(arguments: [
        (#"{"device_match":"AVAILABLE"}"#, "AVAILABLE"),
        (#"{"device_match":"UNAVAILABLE"}"#, "UNAVAILABLE"),
        (#"{"device_match":null,"errors":[{"device_match":"UNAVAILABLE"}]}"#, "UNAVAILABLE"),
    ])
    func aDeviceMatchFoundWhilePollingIsRecorded(answer: String, expected: String) async throws {
        let insight = self.insight
        let harness = ClientHarness { sent, index in
            guard sent.url.hasSuffix("/polling/a1") else { return .json(200, insight) }
            return index < 3 ? .json(200, #"{"device_match":null}"#) : .json(200, answer)
        }
        let context = RowContext(item: WorkItem(id: 1, value: "31612345678", payload: nil, attempts: 0), client: harness.client, journal: SendJournal { _ in })
        async let outcome = try job().perform(context.item, context: context)
        for _ in 1...2 { await harness.advanceOnceAsleep(by: .seconds(2)) }
        guard case .succeeded(let result, _, _) = try await outcome else {
            Issue.record("the lookup should succeed")
            return
        }
        #expect(result.deviceMatch == expected)
    }
}
