import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StreamRecCore
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// Every endpoint through HummingbirdTesting's `.router` framework (no sockets).
@Suite("Operations HTTP API")
struct HTTPEndpointTests {
    struct Fixture {
        let learner: LiveLearner
        let status = ServeStatus()
        let metrics = StreamRecMetrics(recallK: 10)
        let api: OperationsAPI

        init(ranker: ModelConfig.Ranker = .mf) throws {
            learner = LiveLearner(try makeLearner(ranker: ranker))
            api = OperationsAPI(
                configuration: HTTPConfig(),
                learner: learner,
                status: status,
                metrics: metrics,
                readiness: ReadinessPolicy(maxTotalLag: 10),
                now: { 1_700_000_000_000 }
            )
        }

        func get(_ uri: String) async throws -> TestResponse {
            try await Application(router: api.makeRouter()).test(.router) { client in
                try await client.execute(uri: uri, method: .get)
            }
        }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
        return try #require(object as? [String: Any])
    }

    @Test("/healthz is 200")
    func healthz() async throws {
        let r = try await Fixture().get("/healthz")
        #expect(r.status == .ok)
        #expect(try Self.json(r)["status"] as? String == "ok")
    }

    @Test("/readyz is 503 listing failing checks, then 200")
    func readyz() async throws {
        let f = try Fixture()
        var r = try await f.get("/readyz")
        #expect(r.status == .serviceUnavailable)
        var body = try Self.json(r)
        #expect(body["ready"] as? Bool == false)
        #expect(body["failing"] as? [String] == ["model_loaded", "partitions_assigned"])
        #expect((body["checks"] as? [[String: Any]])?.count == 4)

        f.status.update {
            $0.started = true
            $0.brokerConnected = true
            $0.partitions = [.init(topic: "events", partition: 0, position: 95, highWatermark: 100)]
        }
        r = try await f.get("/readyz")
        #expect(r.status == .ok)
        body = try Self.json(r)
        #expect(body["ready"] as? Bool == true)
        #expect(body["failing"] as? [String] == [])
    }

    @Test("recommendations: known user, consumed items excluded, schema-shaped JSON")
    func recommendationsKnownUser() async throws {
        let f = try Fixture()
        let r = try await f.get("/users/u1/recommendations?k=3")
        #expect(r.status == .ok)
        #expect(r.headers[.contentType] == "application/json")
        let list = try RecommendationList(jsonBytes: Array(buffer: r.body))
        #expect(list.user == "u1")
        #expect(list.items.count == 3)
        #expect(list.fallback == nil)
        #expect(list.timestamp == 1_700_000_000_000)
        #expect(!list.items.contains { $0.item == "i1" || $0.item == "i2" })
        // Same list the producer would compute.
        let expected = f.learner.read { $0.recommend(user: "u1", k: 3) }.map(\.item)
        #expect(list.items.map(\.item) == expected)
        #expect(list.modelVersion == f.learner.read(\.modelVersion))
        let object = try Self.json(r)
        #expect(Set(object.keys) == ["user", "items", "model_version", "ts", "source"])
        #expect(object["source"] as? String == "live-model")
    }

    @Test("recommendations: unknown user gets the popularity fallback, flagged")
    func recommendationsUnknownUser() async throws {
        let r = try await Fixture().get("/users/stranger/recommendations?k=2")
        #expect(r.status == .ok)
        let list = try RecommendationList(jsonBytes: Array(buffer: r.body))
        #expect(list.fallback == "popularity")
        #expect(list.items.map(\.item) == ["i1", "i2"])
        #expect(try Self.json(r)["fallback"] as? String == "popularity")
    }

    @Test("recommendations: default k, percent-encoded ids")
    func defaultsAndEncoding() async throws {
        let r = try await Fixture().get("/users/u1/recommendations")
        // 5 items, 2 consumed by u1: fewer than the default k of 10 are left.
        #expect(try RecommendationList(jsonBytes: Array(buffer: r.body)).items.count == 3)
        let encoded = try await Fixture().get("/users/a%20b%2Fc/recommendations?k=1")
        #expect(try RecommendationList(jsonBytes: Array(buffer: encoded.body)).user == "a b/c")
    }

    @Test(
        "bad input gets 400 with a JSON error",
        arguments: [
            "/users/u1/recommendations?k=abc", "/users/u1/recommendations?k=0", "/users/u1/recommendations?k=1001",
            "/users/u1/recommendations?k=-3", "/users/u1/recommendations?k=2.5", "/items/i1/similar?k=x",
            "/items/i1/similar?k=5000", "/users/" + String(repeating: "x", count: 257) + "/recommendations",
            "/items/" + String(repeating: "y", count: 257) + "/similar",
        ]
    )
    func badInput(uri: String) async throws {
        let r = try await Fixture().get(uri)
        #expect(r.status == .badRequest)
        let error = try #require(try Self.json(r)["error"] as? String)
        #expect(!error.isEmpty)
    }

    @Test("ids of exactly 256 bytes are accepted")
    func maxIdLength() async throws {
        let r = try await Fixture().get("/users/" + String(repeating: "x", count: 256) + "/recommendations?k=1")
        #expect(r.status == .ok)
    }

    @Test("similar items: nearest by cosine, itself excluded, 404 for unknown items")
    func similar() async throws {
        let f = try Fixture()
        let r = try await f.get("/items/i1/similar?k=3")
        #expect(r.status == .ok)
        let body = try JSONDecoder().decode(OperationsAPI.SimilarItems.self, from: Data(r.body.readableBytesView))
        #expect(body.item == "i1")
        #expect(body.items.count == 3)
        #expect(!body.items.contains { $0.item == "i1" })
        #expect(body.items.allSatisfy { $0.score >= -1.0001 && $0.score <= 1.0001 })
        #expect(zip(body.items, body.items.dropFirst()).allSatisfy { $0.score >= $1.score })
        // Cross-check the best one against a scalar cosine.
        let best = f.learner.read { l -> (String, Float) in
            let q = l.model.itemFactors.row(Int(l.items.index(of: "i1")!))
            var top: (String, Float) = ("", -2)
            for id in ["i2", "i3", "i4", "i5"] {
                let v = l.model.itemFactors.row(Int(l.items.index(of: id)!))
                let dot = zip(q, v).map(*).reduce(0, +)
                let cos =
                    dot / (q.map { $0 * $0 }.reduce(0, +).squareRoot() * v.map { $0 * $0 }.reduce(0, +).squareRoot())
                if cos > top.1 { top = (id, cos) }
            }
            return top
        }
        #expect(body.items[0].item == best.0)
        #expect(abs(body.items[0].score - best.1) < 1e-4)

        let missing = try await f.get("/items/nope/similar")
        #expect(missing.status == .notFound)
        #expect(try Self.json(missing)["error"] as? String == "unknown item")
    }

    @Test("/stats carries status, samples and learner counts")
    func stats() async throws {
        let f = try Fixture()
        f.status.update {
            $0.eventsLearned = 11
            $0.onlineRecall = 0.25
        }
        f.status.record(.init(t: 1, eventsPerSecond: 100, lag: 7, onlineRecall: 0.25))
        let r = try await f.get("/stats")
        #expect(r.status == .ok)
        let stats = try JSONDecoder().decode(OperationsAPI.Stats.self, from: Data(r.body.readableBytesView))
        #expect(stats.status.eventsLearned == 11)
        #expect(stats.status.samples == [.init(t: 1, eventsPerSecond: 100, lag: 7, onlineRecall: 0.25)])
        #expect(stats.learner.users == 4)
        #expect(stats.learner.items == 5)
        #expect(stats.learner.counters.events == Int64(knownEvents.count))
        #expect(stats.onlineRecallK == 10)
    }

    @Test("/metrics serves the Prometheus text format with refreshed gauges")
    func metrics() async throws {
        let f = try Fixture()
        let r = try await f.get("/metrics")
        #expect(r.status == .ok)
        #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
        let text = String(buffer: r.body)
        #expect(text.contains("# TYPE streamrec_users_tracked gauge"))
        let samples = parsePrometheus(text)
        #expect(samples[key("streamrec_users_tracked")] == 4)
        #expect(samples[key("streamrec_items_tracked")] == 5)
    }

    @Test("requests are counted by route and status; unknown paths get a JSON 404")
    func requestAccounting() async throws {
        let f = try Fixture()
        try await Application(router: f.api.makeRouter()).test(.router) { client in
            try await client.execute(uri: "/users/u1/recommendations?k=2", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/users/u1/recommendations?k=0", method: .get) {
                #expect($0.status == .badRequest)
            }
            let notFound = try await client.execute(uri: "/no/such/path", method: .get)
            #expect(notFound.status == .notFound)
            #expect(try Self.json(notFound)["error"] as? String != nil)
        }
        let samples = parsePrometheus(f.metrics.render())
        let route = "/users/{id}/recommendations"
        #expect(samples[key("streamrec_http_requests_total", [("route", route), ("status", "200")])] == 1)
        #expect(samples[key("streamrec_http_requests_total", [("route", route), ("status", "400")])] == 1)
        #expect(samples[key("streamrec_topk_duration_seconds_count", [("source", "http")])] == 1)
    }

    @Test("/ serves the self-contained live view")
    func liveView() async throws {
        let r = try await Fixture().get("/")
        #expect(r.status == .ok)
        #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
        let html = String(buffer: r.body)
        #expect(html.contains("fetch(\"/stats\""))
        for id in ["chart-eps", "chart-lag", "chart-recall", "last-eps", "last-lag", "last-recall"] {
            #expect(html.contains("id=\"\(id)\""))
        }
        #expect(html.contains("online recall@10"))
        // No external assets: no script/style/image sources, no links other than the SVG namespace.
        #expect(!html.contains("src="))
        #expect(!html.contains("<link"))
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").range(of: "http") == nil)
    }
}
