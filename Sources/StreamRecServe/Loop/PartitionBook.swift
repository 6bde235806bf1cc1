import Dispatch
import Logging
import StreamRecCore
import StreamRecKafka
import Synchronization

/// Per-partition bookkeeping of the learner: the next offset to apply per partition (snapshot state),
/// where an assigned partition starts, the partitions shown in ``ServeStatus`` with their positions and
/// high watermarks (lag), and broker reachability as seen by the watermark queries.
///
/// Written on the learner thread; read by the rebalance callbacks (which run inside `poll` on the same
/// thread, but are `@Sendable` closures, hence the lock around the offsets).
final class PartitionBook: Sendable {
    private let offsets = Mutex<[TopicPartition: Int64]>([:])
    private let status: ServeStatus
    private let metrics: StreamRecMetrics
    private let logger: Logger
    /// Read partitions without a snapshot offset from their earliest retained offset (a fresh model
    /// learns the whole retained log, not its tail).
    private let fromBeginning = Atomic<Bool>(false)

    init(status: ServeStatus, metrics: StreamRecMetrics, logger: Logger) {
        self.status = status
        self.metrics = metrics
        self.logger = logger
    }

    /// Restores the positions of a loaded snapshot.
    func restore(_ position: SourcePosition) {
        offsets.withLock { $0.merge(position.offsetsByPartition) { _, restored in restored } }
    }

    /// The learner was rolled back to a snapshot (nil: a fresh model): its positions replace every
    /// position learned since, so re-assigned partitions start where that snapshot stopped.
    func reset(to position: SourcePosition?) {
        let restored = position?.offsetsByPartition ?? [:]
        offsets.withLock { $0 = restored }
        if position == nil { fromBeginning.store(true, ordering: .relaxed) }
        status.update { s in
            for i in s.partitions.indices {
                if let p = restored[s.partitions[i].key] { s.partitions[i].position = p }
            }
        }
    }

    /// No snapshot was found at start-up: see ``fromBeginning``.
    func startFromBeginningWithoutSnapshot() { fromBeginning.store(true, ordering: .relaxed) }

    /// The message at `offset` was consumed: the partition continues after it.
    func consumed(_ tp: TopicPartition, offset: Int64) { offsets.withLock { $0[tp] = offset + 1 } }

    /// The positions to snapshot (sorted, so encoding is deterministic).
    var position: SourcePosition {
        SourcePosition(offsets: offsets.withLock { $0 })
    }

    /// Where newly assigned partitions start (absent: the group's committed offset), published to status.
    func assigned(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        var start: [TopicPartition: Int64] = [:]
        let known = offsets.withLock { $0 }
        for tp in partitions {
            if let next = known[tp] {
                start[tp] = next
            } else if fromBeginning.load(ordering: .relaxed) {
                start[tp] = KafkaOffset.beginning
            }
        }
        logger.info(
            "partitions assigned",
            metadata: [
                "partitions": "\(partitions.map(\.description).joined(separator: ","))",
                "from_snapshot": "\(start.map { "\($0.key)@\($0.value)" }.sorted().joined(separator: ","))",
            ]
        )
        status.update { s in
            for tp in partitions where !s.partitions.contains(where: { $0.key == tp }) {
                s.partitions.append(.init(topic: tp.topic, partition: tp.partition, position: start[tp] ?? 0))
            }
        }
        return start
    }

    /// A participant restored this partition's state up to `next`: learning continues there.
    func startAt(_ tp: TopicPartition, next: Int64) {
        offsets.withLock { $0[tp] = next }
        status.update { s in
            if let i = s.partitions.firstIndex(where: { $0.key == tp }) { s.partitions[i].position = next }
        }
    }

    func revoked(_ partitions: [TopicPartition]) {
        status.update { s in
            s.partitions.removeAll { partitions.contains($0.key) }
        }
    }

    /// Publishes a consumed batch: counts, online recall and every partition's position.
    func publish(consumed: Int, learned: Int, onlineRecall: Double?) {
        let positions = offsets.withLock { $0 }
        // brokerConnected is not set here: a busy learner keeps draining prefetched messages during an
        // outage. Watermark queries (refreshLag) and client errors decide it.
        status.update { s in
            s.eventsConsumed += Int64(consumed)
            s.eventsLearned += Int64(learned)
            s.onlineRecall = onlineRecall
            for i in s.partitions.indices {
                if let p = positions[s.partitions[i].key] { s.partitions[i].position = p }
            }
        }
    }

    /// A newly assigned partition's watermark is still unknown (readiness waits for it).
    var hasUnknownWatermark: Bool { status.current.partitions.contains { $0.highWatermark == nil } }

    /// Queries each assigned partition's high watermark: lag in status and metrics, and broker reachability.
    func refreshLag(consumer: KafkaConsumer) {
        let partitions = status.current.partitions
        var updated: [ServeStatus.PartitionState] = []
        var reached = false
        for var p in partitions {
            if let high = try? consumer.watermarkOffsets(topic: p.topic, partition: p.partition, timeout: .seconds(1))
                .high
            {
                p.highWatermark = high
                reached = true
                if let lag = p.lag { metrics.setLag(topic: p.topic, partition: p.partition, lag: lag) }
            }
            updated.append(p)
        }
        if !partitions.isEmpty { noteBroker(reachable: reached) }
        status.update { s in
            for p in updated {
                if let i = s.partitions.firstIndex(where: { $0.key == p.key }) {
                    s.partitions[i].highWatermark = p.highWatermark
                }
            }
        }
    }

    /// Reachability from the watermark queries (a busy learner keeps draining prefetched messages during
    /// an outage, so consuming proves nothing).
    private func noteBroker(reachable: Bool) {
        let was = status.current.brokerConnected
        guard was != reachable else { return }
        status.update { $0.brokerConnected = reachable }
        if reachable {
            logger.info("broker reachable")
        } else {
            logger.warning("broker unreachable: /readyz reports not ready until it is back")
        }
    }
}
