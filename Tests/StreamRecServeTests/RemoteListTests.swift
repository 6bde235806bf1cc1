import Foundation
import Hummingbird
import HummingbirdTesting
import StreamRecCore
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// Any instance answers for any user: the bounded view of the recommendations topic,
/// the ownership decision and the endpoint's three answers.
/// The partition librdkafka's default partitioner gives `user` (Core's ``KafkaPartitioner``, checked
/// against librdkafka in StreamRecKafkaTests and, for this feature, in ``RemoteListBrokerTests``).
func crc32Partition(_ user: String, _ partitions: Int) -> Int32 {
    Int32(KafkaPartitioner.crc32.partition(key: user, partitions: partitions)!)
}

@Suite("Remote lists: answering for users other instances learn")
struct RemoteListTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    // MARK: Bounded view

    @Test("latest list per user wins; an empty value (tombstone) removes the user")
    func latestWins() {
        var cache = RemoteListCache(maxUsers: 10, maxBytes: 10_000)
        cache.put(user: "u1", bytes: Self.bytes("old"), receivedAt: 1)
        cache.put(user: "u1", bytes: Self.bytes("newer"), receivedAt: 2)
        #expect(cache.count == 1)
        #expect(cache.list(for: "u1")?.bytes == Self.bytes("newer"))
        #expect(cache.list(for: "u1")?.receivedAt == 2)
        #expect(cache.bytes == 2 + 5)
        cache.put(user: "u1", bytes: [], receivedAt: 3)
        #expect(cache.list(for: "u1") == nil)
        #expect(cache.count == 0 && cache.bytes == 0)
        #expect(cache.evictions == 0)
    }

    @Test("user cap evicts the users whose list arrived longest ago; a refreshed user counts as new")
    func userCap() {
        var cache = RemoteListCache(maxUsers: 3, maxBytes: 10_000)
        for u in ["a", "b", "c"] { cache.put(user: u, bytes: Self.bytes("x"), receivedAt: 0) }
        cache.put(user: "a", bytes: Self.bytes("y"), receivedAt: 1)  // a is now the newest
        cache.put(user: "d", bytes: Self.bytes("z"), receivedAt: 2)  // evicts b
        #expect(cache.count == 3)
        #expect(cache.list(for: "b") == nil)
        #expect(cache.list(for: "a")?.bytes == Self.bytes("y"))
        #expect(cache.list(for: "c") != nil && cache.list(for: "d") != nil)
        #expect(cache.evictions == 1)
    }

    @Test("byte cap (keys + values) evicts oldest until it fits; a list larger than the cap is not kept")
    func byteCap() {
        var cache = RemoteListCache(maxUsers: 100, maxBytes: 20)
        cache.put(user: "u1", bytes: [UInt8](repeating: 1, count: 8), receivedAt: 0)  // 10 bytes
        cache.put(user: "u2", bytes: [UInt8](repeating: 2, count: 8), receivedAt: 0)  // 20
        #expect(cache.bytes == 20 && cache.count == 2)
        cache.put(user: "u3", bytes: [UInt8](repeating: 3, count: 3), receivedAt: 0)  // 25 → evict u1
        #expect(cache.list(for: "u1") == nil)
        #expect(cache.bytes == 15 && cache.count == 2)
        cache.put(user: "big", bytes: [UInt8](repeating: 4, count: 30), receivedAt: 0)
        #expect(cache.list(for: "big") == nil)
        #expect(cache.count == 2 && cache.bytes == 15)
        #expect(cache.evictions == 2)
    }

    @Test("many updates of few users stay within the caps and keep the latest of each")
    func churn() {
        var cache = RemoteListCache(maxUsers: 50, maxBytes: 1 << 20)
        for i in 0..<20_000 { cache.put(user: "u\(i % 80)", bytes: Self.bytes("\(i)"), receivedAt: Int64(i)) }
        #expect(cache.count == 50)
        // The 50 most recently written users are u30...u79 (i = 19950...19999).
        for i in 19_950..<20_000 { #expect(cache.list(for: "u\(i % 80)")?.bytes == Self.bytes("\(i)")) }
        #expect(cache.bytes == (30..<80).reduce(0) { $0 + "u\($1)".utf8.count } + 50 * 5)
    }

    // MARK: Ownership

    @Test("owner when the user's partition is assigned (any event topic), or when counts are unknown")
    func ownership() {
        let user = "u1"
        let pe = crc32Partition(user, 4)
        let pc = crc32Partition(user, 2)
        let counts: [String: Int32] = ["events": 4, "clicks": 2]
        func decide(
            _ assigned: [TopicPartition],
            topics: [String] = ["events"],
            counts: [String: Int32] = counts
        ) -> UserOwnership {
            UserOwnership.decide(user: user, eventTopics: topics, partitionCounts: counts, assigned: Set(assigned))
        }
        #expect(decide([TopicPartition("events", pe)]) == .owner)
        #expect(decide([TopicPartition("events", (pe + 1) % 4)]) == .other([TopicPartition("events", pe)]))
        #expect(decide([]) == .other([TopicPartition("events", pe)]))
        #expect(decide([], counts: [:]) == .owner)
        #expect(decide([TopicPartition("clicks", pc)], topics: ["events", "clicks"]) == .owner)
        #expect(
            decide([], topics: ["events", "clicks"])
                == .other([TopicPartition("events", pe), TopicPartition("clicks", pc)])
        )
    }

    // MARK: The endpoint

    struct Fixture {
        let learner: LiveLearner
        let status = ServeStatus()
        let view = RemoteListView(eventTopics: ["events"], groupID: "recs-group", maxUsers: 100, maxBytes: 1 << 20)
        let api: OperationsAPI
        static let now: Int64 = 1_700_000_010_000

        init(remote: Bool = true) throws {
            learner = LiveLearner(try makeLearner())
            api = OperationsAPI(
                configuration: HTTPConfig(),
                learner: learner,
                status: status,
                metrics: StreamRecMetrics(recallK: 10),
                readiness: ReadinessPolicy(maxTotalLag: 10),
                remoteLists: remote ? view : nil,
                now: { Self.now }
            )
            view.setPartitionCount(topic: "events", 4)
        }

        /// Assigns the partition `user` is on (owner) or every other one (not owner).
        func assign(owning user: String, _ owns: Bool) {
            let mine = crc32Partition(user, 4)
            status.update { s in
                s.partitions = (0..<4).filter { ($0 == mine) == owns }.map {
                    .init(topic: "events", partition: $0, position: 0)
                }
            }
        }

        func get(_ uri: String, method: HTTPRequest.Method = .get) async throws -> TestResponse {
            try await Application(router: api.makeRouter()).test(.router) { client in
                try await client.execute(uri: uri, method: method)
            }
        }
    }

    static func object(_ r: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any])
    }

    @Test("owner: the live model's list, byte for byte, plus \"source\":\"live-model\"")
    func ownerAnswer() async throws {
        for remote in [true, false] {
            let f = try Fixture(remote: remote)
            f.assign(owning: "u1", true)
            let r = try await f.get("/users/u1/recommendations?k=3")
            #expect(r.status == .ok)
            #expect(r.headers[OperationsAPI.sourceHeader] == "live-model")
            let live = f.learner.read { l in
                var selector = RankingPipeline()
                var top = [ScoredIndex]()
                let slot = l.users.index(of: "u1")
                l.recommend(userSlot: slot, k: 3, pipeline: &selector, into: &top)
                return l.recommendationList(user: "u1", userSlot: slot, ranked: top, timestamp: Fixture.now)
            }.jsonBytes()
            #expect(Array(buffer: r.body) == Array(live.dropLast()) + Self.bytes(#","source":"live-model"}"#))
        }
    }

    @Test("not owner, list in the topic: that list, marked with its source and age, truncated to k")
    func topicAnswer() async throws {
        let f = try Fixture()
        f.assign(owning: "far", false)
        let stored = RecommendationList(
            user: "far",
            items: [.init(item: "i9", score: 2), .init(item: "i8", score: 1)],
            modelVersion: "mf-7",
            timestamp: Fixture.now - 2500,
            sourceOffset: SourceOffset(topic: "events", partition: 1, offset: 41)
        ).jsonBytes()
        f.view.put(user: "far", bytes: stored, receivedAt: Fixture.now - 100)
        var r = try await f.get("/users/far/recommendations")
        #expect(r.status == .ok)
        #expect(r.headers[OperationsAPI.sourceHeader] == "recommendations-topic")
        #expect(
            Array(buffer: r.body) == Array(stored.dropLast())
                + Self.bytes(#","source":"recommendations-topic","age_ms":2500}"#)
        )
        r = try await f.get("/users/far/recommendations?k=1")
        let list = try RecommendationList(jsonBytes: Array(buffer: r.body))
        #expect(list.items.map(\.item) == ["i9"])
        #expect(try Self.object(r)["source"] as? String == "recommendations-topic")
        // HEAD carries the marker in the header.
        r = try await f.get("/users/far/recommendations", method: .head)
        #expect(r.headers[OperationsAPI.sourceHeader] == "recommendations-topic")
    }

    @Test("not owner, no list: 404 naming the group and the partition")
    func notOwnedAnswer() async throws {
        let f = try Fixture()
        f.assign(owning: "u1", false)
        let r = try await f.get("/users/u1/recommendations")
        #expect(r.status == .notFound)
        let body = try Self.object(r)
        let p = crc32Partition("u1", 4)
        #expect(body["group"] as? String == "recs-group")
        #expect((body["partitions"] as? [[String: Any]])?.first?["partition"] as? Int == Int(p))
        #expect((body["error"] as? String)?.contains("events[\(p)]") == true)
    }

    @Test("not owner, unparseable list in the topic: 502, not a broken body")
    func badTopicList() async throws {
        let f = try Fixture()
        f.assign(owning: "bad", false)
        f.view.put(user: "bad", bytes: Self.bytes("not json"), receivedAt: 0)
        #expect(try await f.get("/users/bad/recommendations").status == .badGateway)
    }

    @Test("the marked list stays valid against schemas/recommendations.schema.json")
    func markedMatchesSchema() throws {
        let schema = try JSONSchemaValidator(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("schemas/recommendations.schema.json")
        )
        let list = RecommendationList(user: "u", items: [.init(item: "i", score: 1)], modelVersion: "m", timestamp: 5)
        for (source, age) in [(OperationsAPI.ListSource.liveModel, nil), (.recommendationsTopic, Int64(7))] {
            let marked = OperationsAPI.marked(list.jsonBytes(), source: source, ageMillis: age)
            #expect(try schema.errors(JSONValue(parsing: marked)) == [])
        }
    }

    @Test("/stats shows the view's size and caps when remote lists are on, nothing when off")
    func statsShowTheView() async throws {
        let f = try Fixture()
        f.view.put(user: "far", bytes: Self.bytes("{}"), receivedAt: 0)
        let stats = f.api.currentStats().remoteLists
        #expect(stats?.users == 1 && stats?.bytes == 5 && stats?.maxUsers == 100 && stats?.maxBytes == 1 << 20)
        #expect(try Fixture(remote: false).api.currentStats().remoteLists == nil)
    }

    // MARK: Configuration

    @Test("http.remote_lists settings are read and range-checked at start-up")
    func configuration() async throws {
        let path = try temporaryConfig(
            "http:\n  remote_lists: true\n  remote_lists_max_users: 500\n  remote_lists_max_bytes: 1048576\n  remote_lists_lookback_seconds: 3600\n"
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try await ServeConfig.load(path: path, environment: [:])
        #expect(c.http.remoteLists && c.http.remoteListsMaxUsers == 500 && c.http.remoteListsMaxBytes == 1_048_576)
        #expect(c.http.remoteListsLookbackSeconds == 3600)
        #expect(!ServeConfig().http.remoteLists)
        for (name, value, setting) in [
            ("STREAMREC_HTTP_REMOTE_LISTS_MAX_USERS", "0", "http.remote_lists_max_users"),
            ("STREAMREC_HTTP_REMOTE_LISTS_MAX_BYTES", "100", "http.remote_lists_max_bytes"),
            ("STREAMREC_HTTP_REMOTE_LISTS_LOOKBACK_SECONDS", "-1", "http.remote_lists_lookback_seconds"),
            ("STREAMREC_HTTP_REMOTE_LISTS", "perhaps", "http.remote_lists"),
        ] {
            await #expect { try await ServeConfig.load(path: nil, environment: [name: value]) } throws: {
                "\($0)".contains(setting)
            }
        }
    }
}
