import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

@Suite("StreamRecMetrics")
struct MetricsTests {
    @Test("per-topic counters, lag and online recall after a known sequence of events")
    func knownSequence() throws {
        let events = knownEvents.enumerated().map { Event(user: $1.0, item: $1.1, timestamp: Int64($0)) }
        var config = ModelConfig()
        config.factors = 8
        let live = LiveLearner(try OnlineLearner(config: config))
        let status = ServeStatus()
        let metrics = StreamRecMetrics(recallK: 5)
        let feeder = DemoReplayFeeder(
            events: events,
            startAt: 0,
            eventsPerSecond: 0,
            topic: "events",
            learner: live,
            status: status,
            metrics: metrics,
            tracker: OnlineRecallTracker(k: 5, windowSize: 100, sampling: .everyNth(1)),
            timingSampleEvery: 1
        )
        #expect(feeder.apply(count: 4) == 4)
        #expect(feeder.apply(count: 100) == events.count - 4)
        #expect(feeder.apply(count: 1) == 0)
        metrics.recordDeadLettered(topic: "events", count: 2)
        metrics.recordConsumed(topic: "events", count: 2)  // the two malformed messages were consumed too
        metrics.recordRecommendationsProduced(count: 7)
        metrics.refresh(status: status.current, learner: live.read { .init($0) }, now: 0)

        let s = parsePrometheus(metrics.render())
        let topic = [("topic", "events")]
        #expect(s[key("streamrec_events_consumed_total", topic)] == Double(events.count + 2))
        #expect(s[key("streamrec_events_learned_total", topic)] == Double(events.count))
        #expect(s[key("streamrec_events_dead_lettered_total", topic)] == 2)
        #expect(s[key("streamrec_consumer_lag", [("topic", "events"), ("partition", "0")])] == 0)
        #expect(s[key("streamrec_recommendations_produced_total")] == 7)
        #expect(s[key("streamrec_users_tracked")] == 4)
        #expect(s[key("streamrec_items_tracked")] == 5)
        #expect(s[key("streamrec_sgd_update_duration_seconds_count")] == Double(events.count))
        // Online recall: the gauge equals the tracker's own window value.
        let tracker = feeder.tracker
        #expect(tracker.observed == Int64(events.count))
        #expect(tracker.totalScored + tracker.repeatsSkipped == Int64(events.count))
        let recall = try #require(tracker.recall)
        #expect(s[key("streamrec_online_recall", [("k", "5")])] == recall)
        #expect(s[key("streamrec_online_recall_window_events")] == Double(tracker.scoredInWindow))
        #expect(status.current.eventsLearned == Int64(events.count))
        #expect(status.current.onlineRecall == recall)
    }

    @Test("histogram buckets are in seconds and place durations correctly")
    func histogramBuckets() {
        let metrics = StreamRecMetrics()
        metrics.recordSGDUpdate(.microseconds(3))
        metrics.recordTopK(.microseconds(700), source: .stream)
        metrics.recordTopK(.milliseconds(30), source: .stream)
        let text = metrics.render()
        #expect(text.contains("# TYPE streamrec_sgd_update_duration_seconds histogram"))
        var sgd: [Double: Double] = [:]
        var topK: [Double: Double] = [:]
        for (k, v) in parsePrometheus(text) {
            guard let range = k.range(of: "le=\"") else { continue }
            let le = k[range.upperBound...].prefix { $0 != "\"" }
            let bound = le == "+Inf" ? Double.infinity : Double(le)!
            if k.hasPrefix("streamrec_sgd_update_duration_seconds_bucket") { sgd[bound] = v }
            if k.hasPrefix("streamrec_topk_duration_seconds_bucket") && k.contains("source=\"stream\"") {
                topK[bound] = v
            }
        }
        #expect(sgd.count == StreamRecMetrics.sgdBuckets.count + 1)
        #expect(sgd[0.000002] == 0)
        #expect(sgd[0.000005] == 1)
        #expect(sgd[.infinity] == 1)
        #expect(topK[0.0005] == 0)
        #expect(topK[0.001] == 1)
        #expect(topK[0.025] == 1)
        #expect(topK[0.05] == 2)
        let sum = parsePrometheus(text)[key("streamrec_topk_duration_seconds_sum", [("source", "stream")])]
        #expect(abs((sum ?? 0) - 0.0307) < 1e-9)
    }

    @Test("evictions are exported as deltas; snapshot gauges follow the status")
    func evictionsAndSnapshots() throws {
        let metrics = StreamRecMetrics()
        let learner = try makeLearner(maxUsers: 2)  // 4 users through 2 slots
        let evictions = learner.counters.userEvictions
        #expect(evictions >= 2)
        var status = ServeStatus.Snapshot()
        metrics.refresh(status: status, learner: .init(learner), now: 10_000)
        metrics.refresh(status: status, learner: .init(learner), now: 10_000)  // no double counting
        var s = parsePrometheus(metrics.render())
        #expect(s[key("streamrec_evictions_total", [("kind", "user")])] == Double(evictions))
        #expect(s[key("streamrec_evictions_total", [("kind", "item")])] == 0)
        #expect(s[key("streamrec_snapshot_age_seconds")] == -1)

        status.lastSnapshot = .init(
            path: "/s/snapshot-1.srsnap",
            writtenAt: 4_000,
            durationSeconds: 0.5,
            bytes: 1234,
            events: 9
        )
        metrics.recordSnapshotWritten(bytes: 1234, duration: .milliseconds(500))
        metrics.refresh(status: status, learner: .init(learner), now: 10_000)
        s = parsePrometheus(metrics.render())
        #expect(s[key("streamrec_snapshot_age_seconds")] == 6)
        #expect(s[key("streamrec_snapshot_size_bytes")] == 1234)
        #expect(s[key("streamrec_snapshot_duration_seconds")] == 0.5)
        #expect(s[key("streamrec_snapshots_written_total")] == 1)
    }

    @Test("two instances keep separate registries")
    func isolation() {
        let a = StreamRecMetrics()
        let b = StreamRecMetrics()
        a.recordLearned(topic: "t", count: 5)
        #expect(parsePrometheus(a.render())[key("streamrec_events_learned_total", [("topic", "t")])] == 5)
        #expect(parsePrometheus(b.render())[key("streamrec_events_learned_total", [("topic", "t")])] == nil)
    }

    @Test("log level: environment wins, then config, then info; typos ignored")
    func logLevel() {
        #expect(LoggingBootstrap.resolveLevel(configured: nil, environment: [:]) == .info)
        #expect(LoggingBootstrap.resolveLevel(configured: .debug, environment: [:]) == .debug)
        #expect(
            LoggingBootstrap.resolveLevel(configured: .debug, environment: ["STREAMREC_LOG_LEVEL": "ERROR"]) == .error
        )
        #expect(
            LoggingBootstrap.resolveLevel(configured: .warning, environment: ["STREAMREC_LOG_LEVEL": "loud"])
                == .warning
        )
    }
}
