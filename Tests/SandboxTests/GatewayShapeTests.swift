import Testing

@testable import Sandbox

/// The sandbox's header-less gateway shapes, at chosen server instants: each admits what its kind of gateway
/// admits, and refuses with the wait until it would admit again.
@Suite struct GatewayShapeTests {
    private func ledger(_ change: (inout SandboxConfiguration) -> Void) -> QuotaLedger {
        var configuration = SandboxConfiguration()
        configuration.quota = nil
        change(&configuration)
        return QuotaLedger(configuration)
    }

    private func admitted(_ verdict: QuotaLedger.Verdict) -> Bool {
        if case .allowed = verdict { true } else { false }
    }

    private func retryAfter(_ verdict: QuotaLedger.Verdict) -> Double? {
        if case .limited(_, let seconds) = verdict { seconds } else { nil }
    }

    @Test func aSlidingWindowAdmitsLimitCallsInAnySpanOfItsLength() throws {
        let gateway = ledger { $0.slidingWindow = (3, 10) }
        for time in [0.0, 1, 2] { #expect(admitted(gateway.admit(client: "a", now: time))) }
        #expect(try #require(retryAfter(gateway.admit(client: "a", now: 5))) == 5, "the call at 0 s leaves the window at 10 s")
        #expect(admitted(gateway.admit(client: "a", now: 10)))
        #expect(!admitted(gateway.admit(client: "a", now: 10.5)), "1 s, 2 s and 10 s are within 10 s")
        #expect(admitted(gateway.admit(client: "b", now: 10.5)), "each client has its own")
    }

    @Test func aTokenBucketAdmitsItsBurstThenItsRate() throws {
        let gateway = ledger { $0.tokenBucket = (2, 4) }
        for _ in 0..<4 { #expect(admitted(gateway.admit(client: "a", now: 0))) }
        #expect(try #require(retryAfter(gateway.admit(client: "a", now: 0))) == 0.5)
        #expect(admitted(gateway.admit(client: "a", now: 0.5)))
        #expect(!admitted(gateway.admit(client: "a", now: 0.6)))
        #expect(admitted(gateway.admit(client: "a", now: 1.0)))
    }

    @Test func openCallsAreLimitedAndFreedAsTheyAreAnswered() {
        let calls = OpenCalls()
        #expect(calls.open(limit: 2) && calls.open(limit: 2))
        #expect(!calls.open(limit: 2), "a third while two are open is refused")
        calls.close(limit: 2)
        #expect(calls.open(limit: 2))
        #expect(calls.open(limit: nil), "no limit, nothing counted")
    }
}
