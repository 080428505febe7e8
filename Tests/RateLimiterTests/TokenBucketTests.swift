import TestSupport
import Testing

@testable import RateLimiter

@Suite struct TokenBucketTests {
    @Test func burstsUpToTheCapacityThenWaitsForARefill() {
        var bucket = TokenBucket<Instant>(ratePerSecond: 2, capacity: 2)
        for _ in 0..<2 {
            #expect(bucket.waitTime(at: at(0)) == nil)
            bucket.take(at: at(0))
        }
        #expect(bucket.waitTime(at: at(0)) == .milliseconds(500))
        #expect(bucket.waitTime(at: at(0.25)) == .milliseconds(250))
        #expect(bucket.waitTime(at: at(0.5)) == nil)
    }

    @Test func refillNeverExceedsTheCapacity() {
        var bucket = TokenBucket<Instant>(ratePerSecond: 4, capacity: 2)
        bucket.take(at: at(0))
        #expect(bucket.waitTime(at: at(3_600)) == nil)
        bucket.take(at: at(3_600))
        bucket.take(at: at(3_600))
        #expect(bucket.waitTime(at: at(3_600)) == .milliseconds(250))
    }

    @Test func capacityIsAtLeastOne() {
        var bucket = TokenBucket<Instant>(ratePerSecond: 0.5, capacity: 0.5)
        #expect(bucket.capacity == 1)
        #expect(bucket.waitTime(at: at(0)) == nil)
        bucket.take(at: at(0))
        #expect(bucket.waitTime(at: at(0)) == .seconds(2))
    }

    @Test func durationSeconds() {
        #expect(Duration.milliseconds(1_500).seconds == 1.5)
        #expect(Duration.zero.seconds == 0)
    }
}
