// swift-tools-version:6.1
import PackageDescription

// Dependencies are kept lean on purpose: CI rebuilds them from scratch each run.
// Upcoming language features on for every target, as Hummingbird does: explicit `any`, imports that
// must be declared where a member is used, and imports internal unless a public API needs them.
let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "streamrec",
    // macOS 15: swift-configuration's availability and Synchronization.Mutex, the package's one lock type.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "streamrec", targets: ["streamrec"]),
        .library(name: "StreamRecCore", targets: ["StreamRecCore"]),
        .library(name: "StreamRecKafka", targets: ["StreamRecKafka"]),
        .library(name: "StreamRecServe", targets: ["StreamRecServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        // One precedence chain for settings (flags > environment > YAML file > defaults), secrets redacted.
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        // The config file's own keys are listed through Yams (already built for swift-configuration's
        // YAML trait) so unknown keys can be refused at start-up.
        .package(url: "https://github.com/jpsim/Yams.git", "5.4.0"..<"7.0.0"),
        // Already in the graph through Hummingbird; declared because the HTTP server imports NIOCore.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
    ],
    targets: [
        // librdkafka's C API (Debian: librdkafka-dev). Only StreamRecKafka imports it.
        .systemLibrary(
            name: "CRDKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // One partition of one topic: the key the core (snapshot positions) and the Kafka wrapper share,
        // so neither depends on the other.
        .target(name: "StreamRecTopicPartition"),
        // The learning core: pure Swift, no Kafka, no I/O beyond files. Shared by replay and serve.
        .target(name: "StreamRecCore", dependencies: ["StreamRecTopicPartition"]),
        // A small Swift wrapper over librdkafka (consumer, producer, admin, one error type).
        .target(
            name: "StreamRecKafka",
            dependencies: [
                "CRDKafka",
                "StreamRecTopicPartition",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `serve`: Kafka in, recommendations out, snapshots, HTTP operations surface.
        .target(
            name: "StreamRecServe",
            dependencies: [
                "StreamRecCore",
                "StreamRecKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "streamrec",
            dependencies: [
                "StreamRecCore",
                "StreamRecServe",
                "StreamRecKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Benchmark harness: `swift run -c release streamrec-bench` prints a table.
        .executableTarget(
            name: "streamrec-bench",
            dependencies: ["StreamRecCore"],
            path: "bench/StreamRecBench"
        ),
        // Shared by test targets: a JSON Schema validator for the wire formats, unique names, temporary
        // directories, package paths, a quiet logger, a learner trained on a known sequence.
        .target(
            name: "StreamRecTestSupport",
            dependencies: ["StreamRecCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/StreamRecTestSupport"
        ),
        // The Kafka wrapper's test kit (as HummingbirdTesting is Hummingbird's), kept out of the product:
        // librdkafka's in-process mock cluster, injected fatal client errors, the real-broker gate.
        .target(
            name: "StreamRecKafkaTestKit",
            dependencies: [
                "StreamRecKafka", "CRDKafka", "StreamRecTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/StreamRecKafkaTestKit"
        ),
        .testTarget(
            name: "StreamRecCoreTests",
            dependencies: ["StreamRecCore", "StreamRecTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "StreamRecKafkaTests",
            dependencies: [
                "StreamRecKafka", "StreamRecKafkaTestKit", "CRDKafka", "StreamRecTestSupport", "StreamRecCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "StreamRecServeTests",
            dependencies: [
                "StreamRecServe", "StreamRecCore", "StreamRecKafka", "StreamRecKafkaTestKit", "StreamRecTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + upcomingFeatures
}

// Release builds of the per-event path skip run-time exclusivity checks (swift_beginAccess): 3.5% of
// serve's learner-thread samples in `perf`, and without it `bench/per-event-cost.sh` counts 5.8% more
// instructions per replayed event. Without the flag the checks land in the SGD step
// (`learnWithContext`, `contextStep`, `sgdStep`), `rankApproximately` and serve's loop classes; dropping
// the flag needs those accesses hoisted or marked first. Debug builds, which run the tests, keep them.
for target in package.targets where ["StreamRecCore", "StreamRecServe"].contains(target.name) {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
        ]
}
