import Foundation
import Hummingbird
import HummingbirdTesting
import StreamRecCore
import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// `http.remote_lists` against the real broker: lists produced to a 4-partition recommendations topic
/// for users on partitions this instance is not assigned are served from the topic, marked as such.
@Suite(
    "remote lists against a real broker",
    .serialized,
    .realBroker
)
struct RemoteListBrokerTests {
    @Test(
        "non-owned users get the topic's latest list; owned users the live model; the partitioner matches librdkafka's"
    )
    func servesTopicListsForOtherInstancesUsers() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let events = uniqueName("events")
        let recs = uniqueName("recs")
        let admin = try KafkaAdmin(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        try admin.createTopics([
            .init(events, partitions: 4), .init(recs, partitions: 4, config: ["cleanup.policy": "compact"]),
        ])
        let users = (0..<24).map { "user-\($0)" }

        // Keyed events land where Core's KafkaPartitioner.crc32 says (librdkafka's default partitioner, no partition given).
        let producer = try KafkaProducer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        for u in users { try producer.send(topic: events, key: Array(u.utf8), value: Array("{}".utf8)) }
        // Two lists per user: the view must keep the second.
        func list(_ u: String, _ item: String, ts: Int64) -> RecommendationList {
            RecommendationList(user: u, items: [.init(item: item, score: 1)], modelVersion: "mf-remote", timestamp: ts)
        }
        let now = OperationsAPI.wallClockMillis()
        for u in users {
            try producer.send(topic: recs, key: Array(u.utf8), value: list(u, "old", ts: now - 5000).jsonBytes())
        }
        for u in users {
            try producer.send(topic: recs, key: Array(u.utf8), value: list(u, "new-\(u)", ts: now - 1000).jsonBytes())
        }
        try producer.flush(timeout: .seconds(30))
        let produced = try readAll(events, bootstrap: bootstrap)
        #expect(produced.count == users.count)
        #expect(Set(produced.map(\.partition)).count > 1)
        for m in produced {
            let user = String(decoding: m.key ?? [], as: UTF8.self)
            #expect(m.partition == crc32Partition(user, 4), "\(user)")
        }

        var config = ServeConfig()
        config.kafka.bootstrapServers = bootstrap
        config.kafka.eventTopics = [events]
        config.kafka.recommendationsTopic = recs
        config.kafka.groupID = "learners-of-\(events)"
        config.http.remoteLists = true
        try config.validate()
        let view = RemoteListService.makeView(config)
        let service = RemoteListService(
            configuration: config,
            view: view,
            metadataRefresh: .seconds(1),
            logger: quietLogger
        )
        let reader = Task { try await service.run() }
        defer { reader.cancel() }
        for _ in 0..<300
        where users.contains(where: {
            view.list(for: $0).map { !String(decoding: $0.bytes, as: UTF8.self).contains("new-") } ?? true
        }) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let stats = view.stats
        #expect(stats.users == users.count)
        #expect(stats.messagesRead >= Int64(users.count))  // 2 per user unless compaction ran first
        #expect(stats.evictions == 0)

        // This instance is assigned partitions 0 and 1 of the events topic.
        let status = ServeStatus()
        status.update { $0.partitions = [0, 1].map { .init(topic: events, partition: $0, position: 0) } }
        let api = OperationsAPI(
            configuration: HTTPConfig(),
            learner: LiveLearner(try makeLearner()),
            status: status,
            metrics: StreamRecMetrics(recallK: 10),
            readiness: ReadinessPolicy(maxTotalLag: 10),
            remoteLists: view
        )
        let owned = users.filter { crc32Partition($0, 4) < 2 }
        let others = users.filter { crc32Partition($0, 4) >= 2 }
        #expect(!owned.isEmpty && !others.isEmpty)
        let stranger = (0...).lazy.map { "stranger-\($0)" }.first { crc32Partition($0, 4) >= 2 }!
        try await Application(router: api.makeRouter()).test(.router) { client in
            for u in others {
                let r = try await client.execute(uri: "/users/\(u)/recommendations", method: .get)
                #expect(r.status == .ok)
                #expect(r.headers[OperationsAPI.sourceHeader] == "recommendations-topic")
                let body = try #require(
                    try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
                )
                #expect(body["source"] as? String == "recommendations-topic")
                #expect((body["age_ms"] as? Int).map { $0 >= 1000 } == true)
                #expect(try RecommendationList(jsonBytes: Array(buffer: r.body)).items.map(\.item) == ["new-\(u)"])
            }
            for u in owned {
                let r = try await client.execute(uri: "/users/\(u)/recommendations", method: .get)
                #expect(r.status == .ok)
                #expect(r.headers[OperationsAPI.sourceHeader] == "live-model")
                #expect(try RecommendationList(jsonBytes: Array(buffer: r.body)).modelVersion != "mf-remote")
            }
            let r = try await client.execute(uri: "/users/\(stranger)/recommendations", method: .get)
            #expect(r.status == .notFound)
            #expect(String(buffer: r.body).contains("learners-of-\(events)"))
        }
        reader.cancel()
        try await reader.value
    }
}
