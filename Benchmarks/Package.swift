// swift-tools-version:6.2
// Benchmarks, kept out of the main build and out of CI. Run with `python3 Benchmarks/bench.py ...` (end to end)
// or `swift run -c release --package-path Benchmarks limiter-benchmark` (the limiter alone).
import PackageDescription

let package = Package(
    name: "batch-runner-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "..")
    ],
    targets: [
        .executableTarget(
            name: "limiter-benchmark",
            dependencies: [.product(name: "RateLimiter", package: "main")],
            path: "Sources/LimiterBenchmark"
        )
    ]
)
