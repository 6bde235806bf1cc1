import Foundation
import Hummingbird
import HummingbirdTesting
import StreamRecCore
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// `serve.learners`: per-learner configuration, the merged status and per-user routing of the HTTP API.
@Suite("Learner group (serve --learners N)")
struct LearnerGroupTests {
    @Test("serve.learners is read, validated, and each learner gets its own member id and snapshot directory")
    func perLearnerConfig() async throws {
        let c = try await ServeConfig.load(
            ConfigSources(
                flags: [
                    "serve.learners": "3", "kafka.instance_id": "pod-7",
                    "snapshots.directory": "/var/lib/sr", "sync.enabled": "true",
                ],
                environment: [:],
                filePath: nil
            )
        )
        #expect(c.learners == 3)
        let second = c.forLearner(1)
        #expect(second.kafka.instanceID == "pod-7-1")
        #expect(second.snapshots.directory == "/var/lib/sr/learner-1")
        #expect(second.learners == 1 && !second.http.enabled)
        // One learner: the configuration is used as it is (no directory or id suffix).
        var one = c
        one.learners = 1
        #expect(one.forLearner(0).snapshots.directory == "/var/lib/sr")
        #expect(one.forLearner(0).kafka.instanceID == "pod-7")
        #expect(second.sync.resolvedLearnerID(second.kafka) == "pod-7-1")
        for bad in ["0", "65", "-1"] {
            await #expect(throws: (any Error).self) {
                try await ServeConfig.load(
                    ConfigSources(
                        flags: ["serve.learners": bad, "sync.enabled": "true"],
                        environment: [:],
                        filePath: nil
                    )
                )
            }
        }
        // Several learners without item-state sharing: refused, naming the key to turn on.
        do {
            _ = try await ServeConfig.load(
                ConfigSources(flags: ["serve.learners": "2"], environment: [:], filePath: nil)
            )
            Issue.record("serve.learners = 2 without sync was accepted")
        } catch {
            #expect("\(error)".contains("serve.learners") && "\(error)".contains("sync.enabled"))
        }
    }

    @Test("merged status: counts summed, partitions of all learners, ready only when every learner is")
    func mergedStatus() throws {
        let a = ServeStatus()
        let b = ServeStatus()
        a.update { s in
            s.started = true
            s.snapshotLoaded = true
            s.brokerConnected = true
            s.eventsLearned = 10
            s.eventsConsumed = 11
            s.partitions = [.init(topic: "events", partition: 2, position: 5)]
        }
        b.update { s in
            s.started = true
            s.snapshotLoaded = true
            s.brokerConnected = false
            s.eventsLearned = 7
            s.eventsConsumed = 7
            s.partitions = [.init(topic: "events", partition: 0, position: 9)]
        }
        let group = LearnerGroup([
            .init(learner: LiveLearner(try makeLearner()), status: a),
            .init(learner: LiveLearner(try makeLearner()), status: b),
        ])
        let m = group.status
        #expect(m.eventsLearned == 17 && m.eventsConsumed == 18)
        #expect(m.partitions.map(\.partition) == [0, 2])
        #expect(!m.brokerConnected)
        #expect(!ReadinessPolicy(maxTotalLag: 100).evaluate(m).ready)
        b.update { $0.brokerConnected = true }
        #expect(group.status.brokerConnected)
    }

    @Test("a user's list comes from the learner that knows the user; unknown users from the primary")
    func routing() async throws {
        var config = ModelConfig()
        config.factors = 8
        var first = try OnlineLearner(config: config)
        var second = try OnlineLearner(config: config)
        for t in 0..<20 {
            try first.learn(user: "alice", item: "i\(t % 7)", timestamp: Int64(t), weight: 1)
            try second.learn(user: "bob", item: "i\(t % 5)", timestamp: Int64(t), weight: 1)
            try second.learn(user: "dan", item: "i\(t % 9)", timestamp: Int64(t), weight: 1)
        }
        let group = LearnerGroup([
            .init(learner: LiveLearner(first), status: ServeStatus()),
            .init(learner: LiveLearner(second), status: ServeStatus()),
        ])
        #expect(group.learner(forUser: "bob") === group.members[1].learner)
        #expect(group.learner(forUser: "alice") === group.members[0].learner)
        #expect(group.learner(forUser: "carol") === group.primary)
        let f = group.facts()
        #expect(f.users == 3)
        #expect(f.counters.events == 60)

        let api = OperationsAPI(
            configuration: HTTPConfig(),
            learners: group,
            metrics: StreamRecMetrics(recallK: 10),
            readiness: ReadinessPolicy(maxTotalLag: 10)
        )
        let response = try await Application(router: api.makeRouter()).test(.router) { client in
            try await client.execute(uri: "/users/bob/recommendations", method: .get)
        }
        let json = try HTTPEndpointTests.json(response)
        // bob's history (i0…i4) is known only to the second learner: its list excludes all of them.
        let items = try #require(json["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
        #expect(!items.isEmpty)
        #expect(Set(items).isDisjoint(with: ["i0", "i1", "i2", "i3", "i4"]))
        #expect(json["fallback"] == nil)
    }
}
