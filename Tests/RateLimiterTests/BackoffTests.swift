import RateLimiter
import Testing

@Suite struct BackoffTests {
    let backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))

    @Test(arguments: [
        (0, Duration.milliseconds(500)), (1, .milliseconds(500)), (2, .seconds(1)), (3, .seconds(2)),
        (6, .seconds(16)), (7, .seconds(30)), (8, .seconds(30)), (64, .seconds(30)), (Int.max, .seconds(30)),
    ])
    func ceilingDoublesUpToTheCap(failures: Int, expected: Duration) {
        #expect(backoff.ceiling(afterFailures: failures) == expected)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 10, 31, 100, 10_000])
    func fullJitterDelayStaysWithinZeroAndTheCeiling(failures: Int) {
        let exponent = min(failures - 1, 30)
        let bound = min(backoff.cap, backoff.base * (1 << exponent))
        let randomNumbers = [0, 0.25, 0.5, 0.999_999] + (0..<200).map { _ in Double.random(in: 0..<1) }
        for unitRandom in randomNumbers {
            let delay = backoff.delay(afterFailures: failures, unitRandom: unitRandom)
            #expect(delay >= .zero)
            #expect(delay <= bound)
            #expect(delay <= backoff.cap)
        }
    }

    @Test func delayIsTheCeilingScaledByTheRandomNumber() {
        #expect(backoff.delay(afterFailures: 1, unitRandom: 0) == .zero)
        #expect(backoff.delay(afterFailures: 1, unitRandom: 0.5) == .milliseconds(250))
        #expect(backoff.delay(afterFailures: 3, unitRandom: 0.25) == .milliseconds(500))
        #expect(backoff.delay(afterFailures: 50, unitRandom: 0.5) == .seconds(15))
    }

    @Test func outOfRangeRandomNumbersAreClamped() {
        #expect(backoff.delay(afterFailures: 2, unitRandom: -3) == .zero)
        #expect(backoff.delay(afterFailures: 2, unitRandom: 7) == .seconds(1))
    }

    @Test func capBelowBaseWins() {
        let small = Backoff(base: .seconds(10), cap: .seconds(3))
        #expect(small.ceiling(afterFailures: 1) == .seconds(3))
        #expect(small.delay(afterFailures: 1, unitRandom: 0.999) <= .seconds(3))
    }
}
