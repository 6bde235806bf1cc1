import Foundation
public import Testing

/// The gate of every suite that needs a real broker (`scripts/test.sh` starts a private one):
/// * `STREAMREC_KAFKA_BROKERS=127.0.0.1:9092` runs them against that broker;
/// * unset, they are disabled — unless `STREAMREC_REQUIRE_BROKER=1` (CI), which runs them anyway so that
///   a missing or unreachable broker fails the tests instead of silently skipping them.
public enum TestBroker {
    public static let brokers = ProcessInfo.processInfo.environment["STREAMREC_KAFKA_BROKERS"].flatMap {
        $0.isEmpty ? nil : $0
    }
    public static let required = ProcessInfo.processInfo.environment["STREAMREC_REQUIRE_BROKER"] == "1"
    public static var enabled: Bool { brokers != nil || required }

    /// The bootstrap servers; fails the test when the broker is required but not configured.
    public static func bootstrap() throws -> String {
        try #require(brokers, "STREAMREC_REQUIRE_BROKER=1 but STREAMREC_KAFKA_BROKERS is unset")
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs a suite only when ``TestBroker`` says a real broker is there (or required).
    public static var realBroker: Self {
        .enabled(if: TestBroker.enabled, "set STREAMREC_KAFKA_BROKERS, e.g. 127.0.0.1:9092")
    }
}
