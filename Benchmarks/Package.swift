// swift-tools-version:6.2
// Benchmarks, kept out of the main build and out of CI. Run with `python3 Benchmarks/bench.py ...` (end to end)
// or `swift run -c release --package-path Benchmarks limiter-benchmark` (the limiter alone); bench.py builds
// `bare-client`, the baseline of the end-to-end benchmarks.
import PackageDescription

let package = Package(
    name: "batch-runner-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .executableTarget(
            name: "limiter-benchmark",
            // A path dependency is named after its folder: "main" is the checkout this package sits in.
            dependencies: [.product(name: "RateLimiter", package: "main")],
            path: "Sources/LimiterBenchmark"
        ),
        .executableTarget(
            name: "bare-client",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/BareClient"
        ),
    ]
)
