import Foundation
import Testing

@testable import RateLimiter

/// After a restart, never start full: a worker that joins a campaign whose ledger holds a rate learned without
/// quota headers is paced by it from its first grant (or, once the campaign has been idle, after one probe).
@Suite struct SharedRestartTests {
    /// The ledger of a campaign whose workers learned 2 requests a second; the last answer came at t = 1000.
    private func learned() -> SharedQuota {
        var quota = SharedQuota()
        quota.learner.restore(ratePerSecond: 2, window: .seconds(10))
        quota.generation = 1
        quota.recordHeaderless(1, at: 1_000, generation: 1)
        return quota
    }

    @Test func aWorkerJoiningALiveCampaignIsPacedFromItsFirstGrant() {
        var quota = learned()
        guard case .paced(let count, let from, let every, _) = quota.take(want: 8, now: 1_001, margin: 1, probeTimeout: 30) else {
            Issue.record("a joining worker got no paced grant")
            return
        }
        #expect(count == 1 && from == 1_001, "half a second of slots at 2 a second")
        #expect(abs(every - 0.5) < 1e-9, "the learned rate, never a burst")
    }

    @Test func aWorkerRestartingAnIdleCampaignProbesOnceThenIsPaced() {
        var quota = learned()
        #expect(quota.take(want: 8, now: 2_000, margin: 1, probeTimeout: 30) == .sends(1, reset: nil), "one probe, not a burst")
        quota.recordHeaderless(1, at: 2_000.1)
        guard case .paced(_, _, let every, _) = quota.take(want: 8, now: 2_000.2, margin: 1, probeTimeout: 30) else {
            Issue.record("no paced grant after the probe")
            return
        }
        #expect(abs(every - 0.5) < 1e-9)
    }

    @Test func theLedgerKeepsTheLearnerAcrossASaveAndALoad() throws {
        let quota = learned()
        let saved = try JSONEncoder().encode(quota)
        let loaded = try JSONDecoder().decode(SharedQuota.self, from: saved)
        #expect(loaded == quota)
        #expect(loaded.learnedRate == 2)
    }

    @Test func aLearnerSavedByAnotherReleaseKeepsItsRateAndWindow() throws {
        // The ledger as a release whose learner lacked a field of this one's (and had one this one lacks) saved it.
        let quota = learned()
        var ledger = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(quota)) as? [String: Any])
        var learner = try #require(ledger["learner"] as? [String: Any])
        #expect(learner.removeValue(forKey: "recentSends") != nil)
        learner["aFieldOfAnotherRelease"] = 1
        ledger["learner"] = learner
        let loaded = try JSONDecoder().decode(SharedQuota.self, from: JSONSerialization.data(withJSONObject: ledger))
        #expect(loaded.learnedRate == 2)
        #expect(loaded.learnedWindowSeconds == 10)
        #expect(loaded.generation == quota.generation, "the rest of the ledger is kept")
    }
}
