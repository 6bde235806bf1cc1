import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// The Kubernetes example must start: its ConfigMap's embedded streamrec.yaml loads with the pod's
/// environment (every key known, every value valid), and turns on what a group of pods needs.
@Suite("deploy/kubernetes manifests")
struct DeployManifestTests {
    /// The `streamrec.yaml: |` block of the ConfigMap, de-indented.
    static func embeddedConfig() throws -> String {
        let path = TestPaths.packageRoot.appendingPathComponent("deploy/kubernetes/configmap.yaml").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "streamrec.yaml: |" })
        let body = lines[(start + 1)...].prefix { $0.isEmpty || $0.hasPrefix("    ") }
        return body.map { $0.count >= 4 ? String($0.dropFirst(4)) : "" }.joined(separator: "\n")
    }

    @Test("the ConfigMap's streamrec.yaml loads with the pod's environment and configures a scale-out group")
    func configMapLoads() async throws {
        let path = try temporaryConfig(try Self.embeddedConfig())
        defer { try? FileManager.default.removeItem(atPath: path) }
        // What statefulset.yaml sets per pod (STREAMREC_KAFKA_INSTANCE_ID from metadata.name).
        let c = try await ServeConfig.load(
            path: path,
            environment: [
                "STREAMREC_KAFKA_INSTANCE_ID": "streamrec-2", "STREAMREC_HTTP_HOST": "0.0.0.0",
                "STREAMREC_HTTP_PORT": "8080",
            ]
        )
        #expect(c.kafka.instanceID == "streamrec-2" && c.http.host == "0.0.0.0")
        #expect(c.kafka.leaveGroupOnShutdown && !c.kafka.createTopics)
        #expect(c.changelog.enabled && c.sync.enabled)
        #expect(c.sync.resolvedLearnerID(c.kafka) == "streamrec-2")  // the pod name, stable across restarts
        #expect(c.changelog.topicName(groupID: c.kafka.groupID) == "streamrec.user-state")
        #expect(c.sync.resolvedTopic(c.kafka) == "streamrec.model-sync")
    }
}
