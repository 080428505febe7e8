import RateLimiter
import Testing

@Suite struct RetryBudgetTests {
    private func budget(failures: Int, successes: Int) -> RetryBudget {
        var budget = RetryBudget()
        for _ in 0..<successes { budget.record(failed: false) }
        for _ in 0..<failures { budget.record(failed: true) }
        return budget
    }

    @Test func newBudgetIsNotExhausted() {
        #expect(!RetryBudget().isExhausted)
    }

    @Test func exhaustedWhenTheRecentRequestsFail() {
        #expect(budget(failures: 10, successes: 0).isExhausted)
        #expect(budget(failures: 20, successes: 0).isExhausted)
    }

    @Test func notExhaustedBeforeTheMinimumSamples() {
        #expect(!budget(failures: 9, successes: 0).isExhausted)
    }

    @Test(arguments: [(2, 18), (1, 9), (5, 15), (15, 5)])
    func notExhaustedBelowTheThreshold(failures: Int, successes: Int) {
        #expect(!budget(failures: failures, successes: successes).isExhausted)
    }

    @Test func exhaustedAtTheThreshold() {
        #expect(budget(failures: 16, successes: 4).isExhausted)  // 80 % of the last 20
    }

    @Test func recoversAsSuccessesComeIn() {
        var budget = budget(failures: 10, successes: 0)
        #expect(budget.isExhausted)
        budget.record(failed: false)
        budget.record(failed: false)
        #expect(budget.isExhausted)  // 10 of 12
        budget.record(failed: false)
        #expect(!budget.isExhausted)  // 10 of 13
    }

    @Test func onlyTheLastWindowCounts() {
        var budget = budget(failures: 20, successes: 0)
        for _ in 0..<4 { budget.record(failed: false) }
        #expect(budget.isExhausted)  // 16 of the last 20
        budget.record(failed: false)
        #expect(!budget.isExhausted)  // 15 of the last 20
        for _ in 0..<20 { budget.record(failed: false) }
        for _ in 0..<15 { budget.record(failed: true) }
        #expect(!budget.isExhausted)
        budget.record(failed: true)
        #expect(budget.isExhausted)
    }

    @Test func initialiserClampsItsParameters() {
        let budget = RetryBudget(window: 0, minimumSamples: 50, threshold: 0.5)
        #expect(budget.window == 1)
        #expect(budget.minimumSamples == 1)
        var one = budget
        one.record(failed: true)
        #expect(one.isExhausted)
        one.record(failed: false)
        #expect(!one.isExhausted)
    }
}
