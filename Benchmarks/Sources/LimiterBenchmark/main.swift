import RateLimiter

/// The cost of `acquire()` plus the answer that releases it: alone, and with 64 tasks contending.
/// Prints nanoseconds per acquire (median of 5 runs) as JSON lines.

let observation = QuotaObservation(limit: 1_000_000_000, used: 1, window: .seconds(60), resetIn: .seconds(60))

func uncontended(iterations: Int) async throws -> Double {
    let limiter = RateLimiter(configuration: .init(), clock: ContinuousClock())
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<iterations {
        try await limiter.acquire()
        limiter.recordAnswer(observation)
    }
    return nanoseconds(start.duration(to: clock.now)) / Double(iterations)
}

func nanoseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
}

func contended(tasks: Int, iterationsPerTask: Int) async throws -> Double {
    let limiter = RateLimiter(configuration: .init(), clock: ContinuousClock())
    try await limiter.acquire()
    limiter.recordAnswer(observation)
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<tasks {
            group.addTask {
                for _ in 0..<iterationsPerTask {
                    try await limiter.acquire()
                    limiter.recordAnswer(observation)
                }
            }
        }
        try await group.waitForAll()
    }
    return nanoseconds(start.duration(to: clock.now)) / Double(tasks * iterationsPerTask)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// `limiter-benchmark [scale]`: a scale below 1 shortens the runs (for profiling under callgrind).
let scale = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 1
var alone: [Double] = []
var crowded: [Double] = []
for _ in 0..<5 {
    alone.append(try await uncontended(iterations: Int(1_000_000 * scale)))
    crowded.append(try await contended(tasks: 64, iterationsPerTask: Int(20_000 * scale)))
}
print(#"{"benchmark": "limiter-acquire-uncontended", "ns_per_acquire": \#(Int(median(alone))), "runs": 5}"#)
print(#"{"benchmark": "limiter-acquire-64-tasks", "ns_per_acquire": \#(Int(median(crowded))), "runs": 5}"#)
