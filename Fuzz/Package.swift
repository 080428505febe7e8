// swift-tools-version:6.2
// libFuzzer targets for the parsers that read untrusted input, kept out of the main build and out of CI (like
// Benchmarks/). Each target compiles only the product files it fuzzes, through symlinks into ../Sources, so a
// sanitizer build never pulls AsyncHTTPClient, GRDB or swift-crypto. Build and run with `scripts/fuzz.sh`; see
// README.md. A plain `swift build --package-path Fuzz` (no sanitizer flags) builds them as ordinary executables
// that only type-check: they need `-sanitize=fuzzer` to link libFuzzer's driver.
import PackageDescription

// The same settings as the main package, so the symlinked files compile as they do there.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "batch-runner-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // ManifestFile opens and reads the manifest through swift-system, as in the main package.
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1")
    ],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver; SwiftPM renames an executable's entry point, so the
        // targets start libFuzzer from their own @main instead of libFuzzer's main().
        .target(name: "FuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["FuzzDriver"], swiftSettings: swiftSettings),
        // libcsv (symlink to ../Sources/CCSV, the main package's module map).
        .systemLibrary(name: "CCSV"),
        // Stands in for swift-crypto: ManifestReader only needs SHA256 (a plain Swift implementation here).
        .target(name: "Crypto", path: "Sources/CryptoShim", swiftSettings: swiftSettings),
        .executableTarget(
            name: "quota-fuzz",
            dependencies: ["FuzzSupport"],
            path: "Sources/QuotaFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "msisdn-fuzz",
            dependencies: ["FuzzSupport"],
            path: "Sources/MSISDNFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "token-fuzz", dependencies: ["FuzzSupport"], path: "Sources/TokenAnswerFuzz", swiftSettings: swiftSettings),
        .executableTarget(name: "insights-fuzz", dependencies: ["FuzzSupport"], path: "Sources/InsightsAnswerFuzz", swiftSettings: swiftSettings),
        .executableTarget(name: "polling-fuzz", dependencies: ["FuzzSupport"], path: "Sources/PollingAnswerFuzz", swiftSettings: swiftSettings),
        .executableTarget(name: "pim-fuzz", dependencies: ["FuzzSupport"], path: "Sources/PimAnswerFuzz", swiftSettings: swiftSettings),
        .executableTarget(name: "idscan-fuzz", dependencies: ["FuzzSupport"], path: "Sources/IDScanAnswerFuzz", swiftSettings: swiftSettings),
        .executableTarget(
            name: "manifest-fuzz",
            dependencies: ["FuzzSupport", "CCSV", "Crypto", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/ManifestFuzz",
            swiftSettings: swiftSettings
        ),
    ]
)
