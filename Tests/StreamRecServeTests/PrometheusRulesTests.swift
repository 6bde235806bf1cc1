import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore
@testable import StreamRecServe

/// deploy/prometheus/alerts.yaml: valid (`promtool check rules`), each alert fires on its failure and
/// not on a healthy control (`promtool test rules` with alerts.test.yaml), and every metric it names is
/// one the code exports.
///
/// promtool comes from Debian's `prometheus` package (scripts/setup.sh installs it). Without it the
/// promtool tests are skipped, except under `STREAMREC_REQUIRE_BROKER=1` (CI), where they fail.
@Suite("deploy/prometheus alert rules")
struct PrometheusRulesTests {
    static let directory = TestPaths.packageRoot.appendingPathComponent("deploy/prometheus")
    static let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let required = ProcessInfo.processInfo.environment["STREAMREC_REQUIRE_BROKER"] == "1"

    /// Runs promtool with `arguments` in deploy/prometheus; nil when promtool is absent (and allowed to be).
    static func promtool(_ arguments: [String]) throws -> (status: Int32, output: String)? {
        guard let promtool else {
            #expect(!required, "promtool not found: scripts/setup.sh installs Debian's prometheus package")
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test("promtool check rules accepts alerts.yaml")
    func check() throws {
        guard let result = try Self.promtool(["check", "rules", "alerts.yaml"]) else { return }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("SUCCESS: 10 rules found"), "\(result.output)")
    }

    @Test("promtool test rules: every alert fires on its failure, none on the healthy controls")
    func unitTests() throws {
        guard let result = try Self.promtool(["test", "rules", "alerts.test.yaml"]) else { return }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("SUCCESS"), "\(result.output)")
    }

    @Test("every metric the rules use is a name the code exports")
    func metricNamesExist() throws {
        let rules = try String(contentsOf: Self.directory.appendingPathComponent("alerts.yaml"), encoding: .utf8)
        let used = Set(rules.matches(of: /streamrec_[a-z_]+/).map { String($0.output) })
        #expect(used.count >= 10)
        var sources = ""
        let root = TestPaths.packageRoot.appendingPathComponent("Sources/StreamRecServe")
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        for case let url as URL in files where url.pathExtension == "swift" {
            sources += try String(contentsOf: url, encoding: .utf8)
        }
        for name in used.sorted() {
            #expect(sources.contains("\"\(name)\""), "alerts.yaml uses \(name), which no source exports")
        }
    }

    @Test("the gauges only these rules read are exported: readiness and non-finite rollbacks")
    func ruleInputsExported() throws {
        let metrics = StreamRecMetrics()
        var learner = try OnlineLearner(config: ModelConfig())
        learner.counters.nonFiniteRejected = 7
        metrics.refresh(status: ServeStatus.Snapshot(), learner: .init(learner), now: 0)
        metrics.recordReadiness(false)
        var s = parsePrometheus(metrics.render())
        #expect(s[key("streamrec_nonfinite_rejected")] == 7)
        #expect(s[key("streamrec_ready")] == 0)
        metrics.recordReadiness(true)
        s = parsePrometheus(metrics.render())
        #expect(s[key("streamrec_ready")] == 1)
    }
}
