public import StreamRecCore
import Synchronization

/// Facts about the running learner that health checks, `/stats` and the live view read.
/// Written by the consumer loop, read by HTTP handlers; everything is behind one small lock.
public final class ServeStatus: Sendable {
    public struct PartitionState: Sendable, Equatable, Codable {
        public var topic: String
        public var partition: Int32
        /// Next offset the learner will apply.
        public var position: Int64
        /// High watermark last seen from the broker (nil until known).
        public var highWatermark: Int64?
        /// Events of this partition learned since it was first consumed, carried across owners by the
        /// user-state changelog (`changelog.enabled`; nil otherwise): the exactly-once count.
        public var learnedEvents: Int64?
        public var lag: Int64? { highWatermark.map { max(0, $0 - position) } }
        public var key: TopicPartition { TopicPartition(topic, partition) }

        public init(topic: String, partition: Int32, position: Int64, highWatermark: Int64? = nil) {
            self.topic = topic
            self.partition = partition
            self.position = position
            self.highWatermark = highWatermark
        }
    }

    public struct SnapshotState: Sendable, Equatable, Codable {
        public var path: String
        /// Milliseconds since epoch when it was written.
        public var writtenAt: Int64
        public var durationSeconds: Double
        public var bytes: Int
        public var events: Int64
    }

    /// A point of the live view's time series.
    public struct Sample: Sendable, Equatable, Codable {
        public var t: Int64
        public var eventsPerSecond: Double
        public var lag: Int64
        public var onlineRecall: Double?
    }

    public struct Snapshot: Sendable, Equatable, Codable {
        public var started: Bool = false
        public var snapshotLoaded: Bool = false
        public var loadedFrom: String?
        public var partitions: [PartitionState] = []
        public var lastSnapshot: SnapshotState?
        public var eventsConsumed: Int64 = 0
        public var eventsLearned: Int64 = 0
        public var deadLettered: Int64 = 0
        public var recommendationsProduced: Int64 = 0
        public var onlineRecall: Double?
        public var brokerConnected: Bool = false
        /// Snapshot writes that failed (full or read-only disk…) since start.
        public var snapshotFailures: Int64 = 0
        /// The most recent snapshot failure; nil again once a snapshot is durable.
        public var lastSnapshotError: String?
        /// A snapshot was due but none has been durable for longer than the configured limit
        /// (`snapshots.max_unsaved_seconds`): readiness fails, since a crash would lose that much work.
        public var snapshotOverdue: Bool = false
        /// Times the producer was destroyed and re-created after a fatal error (e.g. idempotence lost in
        /// a broker outage); the lists it may have lost were re-sent.
        public var producerRecreations: Int64 = 0
        /// Consumers re-created after a fatal consumer error (e.g. a static member fenced after a broker restart).
        public var consumerRecreations: Int64 = 0
        /// Times partitions were lost and the learner rolled back to its last durable snapshot (events
        /// learned since are learned again by the partitions' owners, once).
        public var rollbacks: Int64 = 0
        /// Item-state sharing through the model-sync topic; absent when `sync.enabled` is false.
        public var sync: SyncStatus?
        /// User-state changelog records refused at restores, by ``ChangelogRejection`` reason.
        public var changelogRejected: [String: Int64] = [:]
        public var samples: [Sample] = []
        public var totalLag: Int64 { partitions.reduce(0) { $0 + ($1.lag ?? 0) } }
    }

    private let state = Mutex(Snapshot())
    public static let maxSamples = 720

    public init() {}

    public var current: Snapshot { state.withLock { $0 } }

    public func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }

    /// Appends a time-series point, keeping the most recent ``maxSamples``.
    public func record(_ sample: Sample) {
        state.withLock {
            $0.samples.append(sample)
            if $0.samples.count > Self.maxSamples { $0.samples.removeFirst($0.samples.count - Self.maxSamples) }
        }
    }
}
