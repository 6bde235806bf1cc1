import CoreMetrics
public import Prometheus
public import StreamRecCore
import Synchronization

/// Every metric streamrec exports, on one Prometheus registry owned by the application rather than the
/// one-shot global `MetricsSystem`, so each test and each `OperationsServer` has its own numbers
/// (``bootstrapGlobalMetricsSystem()`` routes swift-metrics libraries into it too). Event-driven metrics
/// are recorded as things happen; state-derived ones (lag, events/s, sizes, snapshot age, online recall)
/// are copied from ``ServeStatus`` and the learner by ``refresh(status:learner:now:)`` right before each
/// scrape, so the loop never has to remember them. Per-topic and per-partition handles are cached.
public final class StreamRecMetrics: Sendable {
    /// Metric names, in one place so tests, dashboards and alerts agree with the code.
    public enum Name {
        public static let eventsConsumed = "streamrec_events_consumed_total"
        public static let eventsLearned = "streamrec_events_learned_total"
        public static let eventsDeadLettered = "streamrec_events_dead_lettered_total"
        public static let consumerLag = "streamrec_consumer_lag"
        public static let eventsPerSecond = "streamrec_events_per_second"
        public static let sgdUpdateSeconds = "streamrec_sgd_update_duration_seconds"
        public static let topKSeconds = "streamrec_topk_duration_seconds"
        public static let recommendationsProduced = "streamrec_recommendations_produced_total"
        public static let snapshotsWritten = "streamrec_snapshots_written_total"
        public static let snapshotAge = "streamrec_snapshot_age_seconds"
        public static let snapshotDuration = "streamrec_snapshot_duration_seconds"
        public static let snapshotSize = "streamrec_snapshot_size_bytes"
        public static let usersTracked = "streamrec_users_tracked"
        public static let itemsTracked = "streamrec_items_tracked"
        public static let evictions = "streamrec_evictions_total"
        public static let onlineRecall = "streamrec_online_recall"
        public static let onlineRecallScored = "streamrec_online_recall_window_events"
        public static let httpRequests = "streamrec_http_requests_total"
    }

    /// Where a top-K was computed: the consumer loop (after each event) or an HTTP query.
    public enum TopKSource: String, Sendable, CaseIterable {
        case stream, http
    }

    /// SGD steps take microseconds (k=32: ~1–20 µs); buckets from 1 µs to 10 ms.
    public static let sgdBuckets: [Duration] = [
        .microseconds(1), .microseconds(2), .microseconds(5), .microseconds(10), .microseconds(25),
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10),
    ]
    /// A top-K scans the catalog (≈0.5 ms at 100k items); buckets from 10 µs to 250 ms.
    public static let topKBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
    ]

    public let registry: PrometheusCollectorRegistry
    /// The K of the online recall gauge's `k` label.
    public let recallK: Int

    private let sgdUpdate: DurationHistogram
    private let topK: [TopKSource: DurationHistogram]
    private let recommendations: Prometheus.Counter
    private let snapshots: Prometheus.Counter
    private let snapshotAge: Prometheus.Gauge
    private let snapshotDuration: Prometheus.Gauge
    private let snapshotSize: Prometheus.Gauge
    private let eventsPerSecond: Prometheus.Gauge
    private let usersTracked: Prometheus.Gauge
    private let itemsTracked: Prometheus.Gauge
    private let userEvictions: Prometheus.Counter
    private let itemEvictions: Prometheus.Counter
    private let onlineRecall: Prometheus.Gauge
    private let onlineRecallScored: Prometheus.Gauge

    private struct TopicHandles {
        var consumed: Prometheus.Counter
        var learned: Prometheus.Counter
        var deadLettered: Prometheus.Counter
    }

    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    private struct Cache {
        var topics: [String: TopicHandles] = [:]
        var lag: [PartitionKey: Prometheus.Gauge] = [:]
        var http: [String: Prometheus.Counter] = [:]
        /// Learner eviction counts already exported (counters only move by deltas).
        var exportedUserEvictions: Int64 = 0
        var exportedItemEvictions: Int64 = 0
    }

    private let cache = Mutex(Cache())

    private static let help: [String: String] = [
        Name.eventsConsumed: "Events read from the input topic.",
        Name.eventsLearned: "Events applied to the model.",
        Name.eventsDeadLettered: "Malformed or oversized messages sent to the dead-letter topic.",
        Name.consumerLag: "Messages between the learner's position and the partition's high watermark.",
        Name.eventsPerSecond: "Events learned per second over the last sampling interval.",
        Name.sgdUpdateSeconds: "Duration of one learner update (store + SGD step).",
        Name.topKSeconds: "Duration of one top-K computation.",
        Name.recommendationsProduced: "Recommendation lists produced to the output topic.",
        Name.snapshotsWritten: "Snapshots written successfully.",
        Name.snapshotAge: "Seconds since the last successful snapshot (-1 when none yet).",
        Name.snapshotDuration: "Duration of the last successful snapshot in seconds.",
        Name.snapshotSize: "Size of the last successful snapshot in bytes.",
        Name.usersTracked: "Live users in the model.",
        Name.itemsTracked: "Live items in the model.",
        Name.evictions: "Least-recently-active ids evicted to stay under the caps.",
        Name.onlineRecall: "Rolling prequential recall@K on sampled live events (test-then-train).",
        Name.onlineRecallScored: "Scored events in the online recall window.",
        Name.httpRequests: "HTTP requests served by the operations API.",
    ]

    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name]!)
    }

    /// - Parameters:
    ///   - registry: where the metrics live; a fresh one by default (tests), or one shared with other code.
    ///   - recallK: K of the online recall@K the serving loop measures (becomes the `k` label).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), recallK: Int = 10) {
        self.registry = registry
        self.recallK = recallK
        sgdUpdate = registry.makeDurationHistogram(
            descriptor: Self.descriptor(Name.sgdUpdateSeconds),
            buckets: Self.sgdBuckets
        )
        var topK: [TopKSource: DurationHistogram] = [:]
        for source in TopKSource.allCases {
            topK[source] = registry.makeDurationHistogram(
                descriptor: Self.descriptor(Name.topKSeconds),
                labels: [("source", source.rawValue)],
                buckets: Self.topKBuckets
            )
        }
        self.topK = topK
        recommendations = registry.makeCounter(descriptor: Self.descriptor(Name.recommendationsProduced))
        snapshots = registry.makeCounter(descriptor: Self.descriptor(Name.snapshotsWritten))
        snapshotAge = registry.makeGauge(descriptor: Self.descriptor(Name.snapshotAge))
        snapshotDuration = registry.makeGauge(descriptor: Self.descriptor(Name.snapshotDuration))
        snapshotSize = registry.makeGauge(descriptor: Self.descriptor(Name.snapshotSize))
        eventsPerSecond = registry.makeGauge(descriptor: Self.descriptor(Name.eventsPerSecond))
        usersTracked = registry.makeGauge(descriptor: Self.descriptor(Name.usersTracked))
        itemsTracked = registry.makeGauge(descriptor: Self.descriptor(Name.itemsTracked))
        userEvictions = registry.makeCounter(descriptor: Self.descriptor(Name.evictions), labels: [("kind", "user")])
        itemEvictions = registry.makeCounter(descriptor: Self.descriptor(Name.evictions), labels: [("kind", "item")])
        onlineRecall = registry.makeGauge(
            descriptor: Self.descriptor(Name.onlineRecall),
            labels: [("k", String(recallK))]
        )
        onlineRecallScored = registry.makeGauge(descriptor: Self.descriptor(Name.onlineRecallScored))
        snapshotAge.set(to: -1)
    }

    /// Routes swift-metrics (`Counter(label:)`, `Timer(label:)`, … from any library) into this registry.
    ///
    /// `MetricsSystem.bootstrap` may be called once per process, so only the real executable calls this;
    /// tests never do.
    public func bootstrapGlobalMetricsSystem() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    // MARK: Event-driven metrics (recorded by the consumer loop)

    private func topicHandles(_ topic: String) -> TopicHandles {
        cache.withLock { cache in
            if let handles = cache.topics[topic] { return handles }
            let labels = [("topic", topic)]
            let handles = TopicHandles(
                consumed: registry.makeCounter(descriptor: Self.descriptor(Name.eventsConsumed), labels: labels),
                learned: registry.makeCounter(descriptor: Self.descriptor(Name.eventsLearned), labels: labels),
                deadLettered: registry.makeCounter(
                    descriptor: Self.descriptor(Name.eventsDeadLettered),
                    labels: labels
                )
            )
            cache.topics[topic] = handles
            return handles
        }
    }

    /// `count` messages were read from `topic` (well-formed or not).
    public func recordConsumed(topic: String, count: Int = 1) {
        topicHandles(topic).consumed.increment(by: Int64(count))
    }

    /// `count` events of `topic` were applied to the model.
    public func recordLearned(topic: String, count: Int = 1) {
        topicHandles(topic).learned.increment(by: Int64(count))
    }

    /// `count` messages of `topic` went to the dead-letter topic.
    public func recordDeadLettered(topic: String, count: Int = 1) {
        topicHandles(topic).deadLettered.increment(by: Int64(count))
    }

    /// Time one learner update took (the serving loop may sample, e.g. every 64th event).
    public func recordSGDUpdate(_ duration: Duration) {
        sgdUpdate.record(duration)
    }

    /// Time one top-K took.
    public func recordTopK(_ duration: Duration, source: TopKSource) {
        topK[source]!.record(duration)
    }

    /// `count` recommendation lists were produced to the output topic.
    public func recordRecommendationsProduced(count: Int = 1) {
        recommendations.increment(by: Int64(count))
    }

    /// A snapshot was written (also reported through ``ServeStatus/SnapshotState`` for age).
    public func recordSnapshotWritten(bytes: Int, duration: Duration) {
        snapshots.increment()
        snapshotSize.set(to: Double(bytes))
        snapshotDuration.set(to: duration.seconds)
    }

    /// Sets a partition's lag directly (the loop may call this; ``refresh(status:learner:now:)`` also does).
    public func setLag(topic: String, partition: Int32, lag: Int64) {
        lagGauge(topic: topic, partition: partition).set(to: Double(lag))
    }

    /// Counts one HTTP response of the operations API, by route pattern and status code.
    public func recordHTTPRequest(route: String, status: Int) {
        let key = route + " " + String(status)
        let counter = cache.withLock { cache in
            if let c = cache.http[key] { return c }
            let c = registry.makeCounter(
                descriptor: Self.descriptor(Name.httpRequests),
                labels: [("route", route), ("status", String(status))]
            )
            cache.http[key] = c
            return c
        }
        counter.increment()
    }

    private func lagGauge(topic: String, partition: Int32) -> Prometheus.Gauge {
        cache.withLock { cache in
            let key = PartitionKey(topic: topic, partition: partition)
            if let g = cache.lag[key] { return g }
            let g = registry.makeGauge(
                descriptor: Self.descriptor(Name.consumerLag),
                labels: [("topic", topic), ("partition", String(partition))]
            )
            cache.lag[key] = g
            return g
        }
    }

    // MARK: State-derived metrics (refreshed before each scrape)

    /// What ``refresh(status:learner:now:)`` needs from the learner, read under its lock in O(1).
    public struct LearnerFacts: Sendable, Equatable {
        public var users: Int
        public var items: Int
        public var counters: LearnerCounters

        public init(users: Int, items: Int, counters: LearnerCounters) {
            self.users = users
            self.items = items
            self.counters = counters
        }

        public init(_ learner: OnlineLearner) {
            self.init(users: learner.users.count, items: learner.items.count, counters: learner.counters)
        }
    }

    /// Copies state-derived values into their gauges. `now` is milliseconds since the epoch.
    public func refresh(status: ServeStatus.Snapshot, learner: LearnerFacts, now: Int64) {
        for p in status.partitions {
            if let lag = p.lag { setLag(topic: p.topic, partition: p.partition, lag: lag) }
        }
        eventsPerSecond.set(to: status.samples.last?.eventsPerSecond ?? 0)
        usersTracked.set(to: Double(learner.users))
        itemsTracked.set(to: Double(learner.items))
        if let s = status.lastSnapshot {
            snapshotAge.set(to: max(0, Double(now - s.writtenAt) / 1000))
        } else {
            snapshotAge.set(to: -1)
        }
        if let recall = status.onlineRecall { onlineRecall.set(to: recall) }
        // Counters move by deltas only; a learner replaced by an older snapshot just stops adding.
        let (du, di) = cache.withLock { c -> (Int64, Int64) in
            let du = max(0, learner.counters.userEvictions - c.exportedUserEvictions)
            let di = max(0, learner.counters.itemEvictions - c.exportedItemEvictions)
            c.exportedUserEvictions = max(c.exportedUserEvictions, learner.counters.userEvictions)
            c.exportedItemEvictions = max(c.exportedItemEvictions, learner.counters.itemEvictions)
            return (du, di)
        }
        if du > 0 { userEvictions.increment(by: du) }
        if di > 0 { itemEvictions.increment(by: di) }
        refreshFaults(status: status, learner: learner)
        if let sync = status.sync { refreshSync(sync) }
        refreshChangelogRejections(status.changelogRejected)
    }

    /// Publishes an online recall tracker's current window (the loop calls this as often as it likes).
    public func record(onlineRecall tracker: OnlineRecallTracker) {
        if let recall = tracker.recall { onlineRecall.set(to: recall) }
        onlineRecallScored.set(to: Double(tracker.scoredInWindow))
    }

    /// The Prometheus text exposition format (what `/metrics` serves).
    public func render() -> String {
        registry.emitToString()
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
