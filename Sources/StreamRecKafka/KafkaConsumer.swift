import CRDKafka
import Foundation
public import Logging
import Synchronization

/// A librdkafka high-level consumer, in one of two modes:
///
/// * **group mode** (`group.id` set): `subscribe(topics:)`; the group coordinator spreads partitions
///   over members and a `RebalanceHandler` picks each assigned partition's start offset (streamrec
///   resumes from its snapshot's offsets, not the group's). Offsets are committed only by `commit(_:)`:
///   `enable.auto.commit` and `enable.auto.offset.store` are forced off, because a commit must follow
///   a durable snapshot.
/// * **assign mode** (no `group.id`): `assign(_:)` explicit start offsets, e.g. to backtest a range
///   bounded with `watermarkOffsets` / `offsetsForTimes`. (A private random group id is set because
///   librdkafka requires one for `rd_kafka_assign`; that group is never joined.)
///
/// Thread-safety: all methods may be called from any thread. `poll` calls are serialized; rebalance
/// callbacks run inside `poll` (and `close`) **on the polling thread**, so a handler must not call
/// `poll` or `close`, but may call `commit`, `committed`, `seek` and friends.
public final class KafkaConsumer: @unchecked Sendable {
    // @unchecked Sendable: the handle is thread-safe, `pollLock` serializes poll/close, and the
    // only mutable state (`closed`) is behind a mutex.

    /// Decides where consumption starts after each group rebalance. Both closures run on the
    /// polling thread, inside `poll`/`close`.
    public struct RebalanceHandler: Sendable {
        /// Gets the newly assigned partitions; returns start offsets (next offset to read, or a
        /// `KafkaOffset` constant). Partitions left out start at the group's committed offset.
        public var onAssign: @Sendable (_ partitions: [TopicPartition]) -> [TopicPartition: Int64]
        /// Gets partitions being taken away; `lost` is true when they were already reassigned
        /// elsewhere (session timeout), so committing them would be wrong.
        public var onRevoke: @Sendable (_ partitions: [TopicPartition], _ lost: Bool) -> Void

        public init(
            onAssign: @escaping @Sendable ([TopicPartition]) -> [TopicPartition: Int64],
            onRevoke: @escaping @Sendable ([TopicPartition], Bool) -> Void = { _, _ in }
        ) {
            self.onAssign = onAssign
            self.onRevoke = onRevoke
        }
    }

    /// Conditions that are not messages and not fatal.
    public enum Event: Sendable {
        /// The consumer reached the end of a partition (only with `enable.partition.eof=true`);
        /// `offset` is the next offset that will be produced.
        case partitionEOF(TopicPartition, offset: Int64)
        /// A non-fatal error (broker unreachable, unknown topic, failed rebalance step...). librdkafka retries by itself.
        case error(KafkaError)
    }

    private let handle: RDKafkaHandle
    private let logger: Logger
    private let onEvent: (@Sendable (Event) -> Void)?
    private let pollLock = Mutex(())
    /// A broker outage repeats the same error on every poll: a few lines per interval.
    private let errorLog = Mutex(LogRateLimiter(burst: 10, intervalSeconds: 10))
    private let closed = Mutex(false)
    /// An error raised inside a rebalance callback, rethrown by the next `poll`.
    private let rebalanceError: LockedBox<KafkaError?>
    /// The librdkafka handle, for the test kit's fault injection.
    package var rk: OpaquePointer { handle.rk }

    /// Whether this consumer was configured with a `group.id`.
    public let isGroupMember: Bool

    /// - Parameters:
    ///   - rebalanceHandler: group mode only; without it partitions start at the committed offsets.
    ///   - onEvent: receives partition EOFs and non-fatal errors (also logged), on the polling thread
    ///     (client-level events are routed to the consumer queue, so `poll` serves them too).
    public init(
        configuration: KafkaConfig,
        rebalanceHandler: RebalanceHandler? = nil,
        onEvent: (@Sendable (Event) -> Void)? = nil,
        logger: Logger = Logger(label: "streamrec.kafka.consumer")
    ) throws {
        var config = configuration.merging(["enable.auto.commit": "false", "enable.auto.offset.store": "false"])
        // librdkafka 2.0 rejects rd_kafka_assign without a group.id (_UNKNOWN_GROUP). Assign mode
        // gets a private, never-joined group id; nothing is committed to it unless `commit` is called.
        if config.groupID == nil { config.groupID = "streamrec-assign-\(UUID().uuidString)" }
        let rebalanceError = LockedBox<KafkaError?>(nil)
        var onRebalance: RDKafkaCallbacks.Rebalance?
        if configuration.groupID != nil {
            onRebalance = { @Sendable rk, err, list in
                if let error = KafkaConsumer.rebalance(rk, err, list, handler: rebalanceHandler) {
                    logger.error("rebalance failed: \(error)")
                    rebalanceError.withLock { $0 = $0 ?? error }
                }
            }
        }
        var onError: (@Sendable (KafkaError) -> Void)?
        if let onEvent { onError = { @Sendable error in onEvent(.error(error)) } }
        let callbacks = RDKafkaCallbacks(logger: logger, onError: onError, onRebalance: onRebalance)
        handle = try RDKafkaHandle(RD_KAFKA_CONSUMER, configuration: config, callbacks: callbacks)
        self.logger = logger
        self.onEvent = onEvent
        self.rebalanceError = rebalanceError
        isGroupMember = configuration.groupID != nil
        // Serve client-level events (errors, logs, rebalances) from the consumer queue, i.e. from poll.
        rd_kafka_poll_set_consumer(handle.rk)
    }

    deinit {
        if !closed.withLock({ $0 }) { _ = rd_kafka_consumer_close(rk) }
    }

    /// The rebalance callback (see `rd_kafka_conf_set_rebalance_cb`): applies the handler's start
    /// offsets, then assigns — incrementally under the COOPERATIVE protocol, wholesale under EAGER.
    private static func rebalance(
        _ rk: OpaquePointer,
        _ err: rd_kafka_resp_err_t,
        _ list: RDKafkaTopicPartitionList.Pointer,
        handler: RebalanceHandler?
    ) -> KafkaError? {
        let cooperative = String(optionalCString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"  // else EAGER
        let partitions = RDKafkaTopicPartitionList.entries(of: list).map(\.topicPartition)
        do {
            switch err {
            case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                if let handler { RDKafkaTopicPartitionList.setOffsets(handler.onAssign(partitions), in: list) }
                if cooperative {
                    try KafkaError.check(rd_kafka_incremental_assign(rk, list), "incremental assign")
                } else {
                    try KafkaError.check(rd_kafka_assign(rk, list), "assign")
                }
            case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                handler?.onRevoke(partitions, rd_kafka_assignment_lost(rk) != 0)
                if cooperative {
                    try KafkaError.check(rd_kafka_incremental_unassign(rk, list), "incremental unassign")
                } else {
                    try KafkaError.check(rd_kafka_assign(rk, nil), "unassign")
                }
            default:
                _ = rd_kafka_assign(rk, nil)  // librdkafka's advice: resynchronize state
                throw KafkaError(err, "rebalance")
            }
            return nil
        } catch {
            return error as? KafkaError
        }
    }

    // MARK: Subscription and assignment

    /// Joins the group and subscribes to `topics` (group mode).
    public func subscribe(topics: [String]) throws {
        try ensureOpen()
        guard isGroupMember else {
            throw KafkaError.invalidArgument("subscribe needs group.id; use assign(_:) without a group")
        }
        let list = RDKafkaTopicPartitionList(partitions: topics.map { TopicPartition($0, RD_KAFKA_PARTITION_UA) })
        try list.call("subscribe to \(topics)", checkPartitions: false) { rd_kafka_subscribe(rk, $0) }
    }

    /// Reads exactly these partitions from these offsets, without group coordination (assign mode).
    public func assign(_ offsets: [TopicPartition: Int64]) throws {
        try ensureOpen()
        try RDKafkaTopicPartitionList(offsets).call("assign", checkPartitions: false) { rd_kafka_assign(rk, $0) }
    }

    /// The partitions currently assigned (by `assign` or by the group).
    public func assignment() throws -> [TopicPartition] {
        try ensureOpen()
        var list: RDKafkaTopicPartitionList.Pointer?
        try KafkaError.check(rd_kafka_assignment(rk, &list), "assignment")
        return list.map { RDKafkaTopicPartitionList(owning: $0).entries.map(\.topicPartition).sorted() } ?? []
    }

    /// The group's current rebalance protocol: "EAGER", "COOPERATIVE", or "NONE" before joining.
    public var rebalanceProtocol: String {
        String(optionalCString: rd_kafka_rebalance_protocol(rk)) ?? "NONE"
    }

    // MARK: Polling

    /// Returns up to `maxMessages` messages, waiting at most `timeout` for the first one, then taking only
    /// what is already fetched. Serves rebalance and error callbacks on, and blocks, the calling thread.
    /// Repeated `rd_kafka_consumer_poll`, not `rd_kafka_consume_batch_queue`: librdkafka 2.0 lists the
    /// batch API as skipping offsets with seek/pause/resume/rebalance, the operations streamrec uses.
    /// - Throws: `KafkaError` if the consumer is closed, has hit a fatal error, or a rebalance failed.
    public func poll(maxMessages: Int = 500, timeout: Duration = .milliseconds(100)) throws -> [KafkaMessage] {
        try pollLock.withLock { _ throws -> [KafkaMessage] in try pollLocked(maxMessages: maxMessages, timeout: timeout)
        }
    }

    private func pollLocked(maxMessages: Int, timeout: Duration) throws -> [KafkaMessage] {
        try ensureOpen()
        guard maxMessages > 0 else { throw KafkaError.invalidArgument("poll: maxMessages must be positive") }
        if let fatal = handle.fatalError() { throw fatal }
        var batch: [KafkaMessage] = []
        var wait = timeout.rdMilliseconds
        while batch.count < maxMessages, let message = rd_kafka_consumer_poll(rk, wait) {
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            switch message.pointee.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                batch.append(KafkaMessage(message))
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                let m = message.pointee
                onEvent?(
                    .partitionEOF(
                        TopicPartition(String(optionalCString: rd_kafka_topic_name(m.rkt)) ?? "", m.partition),
                        offset: m.offset
                    )
                )
            case RD_KAFKA_RESP_ERR__FATAL:
                throw handle.fatalError() ?? KafkaError(RD_KAFKA_RESP_ERR__FATAL, "consumer")
            case let err:
                let error = KafkaError(err, String(optionalCString: rd_kafka_message_errstr(message)))
                if error.isFatal { throw error }
                if case .log(let suppressed) = errorLog.withLock({ $0.admit() }) {
                    logger.warning("consumer error: \(error)", metadata: ["suppressed_since_last": "\(suppressed)"])
                }
                onEvent?(.error(error))
            }
        }
        if batch.isEmpty,
            let error = rebalanceError.withLock({ e in
                defer { e = nil }
                return e
            })
        {
            throw error
        }
        return batch
    }

    // MARK: Offsets

    /// Commits synchronously; each offset is the **next** offset to read (last processed + 1).
    /// Call it only after the state derived from those messages is durable.
    public func commit(_ offsets: [TopicPartition: Int64]) throws {
        try ensureOpen()
        guard !offsets.isEmpty else { return }
        try RDKafkaTopicPartitionList(offsets).call("commit") { rd_kafka_commit(rk, $0, 0) }
    }

    /// The group's committed offsets; partitions with none committed are absent.
    public func committed(
        _ partitions: [TopicPartition],
        timeout: Duration = .seconds(10)
    ) throws -> [TopicPartition: Int64] {
        try ensureOpen()
        let list = RDKafkaTopicPartitionList(partitions: partitions)
        try list.call("committed") { rd_kafka_committed(rk, $0, timeout.rdMilliseconds) }
        return list.offsets
    }

    /// The next offset this consumer will return per partition; partitions not yet consumed are absent.
    public func position(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        try ensureOpen()
        let list = RDKafkaTopicPartitionList(partitions: partitions)
        try list.call("position", checkPartitions: false) { rd_kafka_position(rk, $0) }
        return list.offsets
    }

    /// Moves the fetch position of assigned partitions.
    public func seek(_ offsets: [TopicPartition: Int64], timeout: Duration = .seconds(10)) throws {
        try ensureOpen()
        try RDKafkaTopicPartitionList(offsets).call("seek") { rd_kafka_seek_partitions(rk, $0, timeout.rdMilliseconds) }
    }

    /// Stops fetching from these partitions (the assignment is kept), e.g. for backpressure.
    public func pause(_ partitions: [TopicPartition]) throws {
        try ensureOpen()
        try RDKafkaTopicPartitionList(partitions: partitions).call("pause") { rd_kafka_pause_partitions(rk, $0) }
    }

    /// Resumes fetching paused partitions.
    public func resume(_ partitions: [TopicPartition]) throws {
        try ensureOpen()
        try RDKafkaTopicPartitionList(partitions: partitions).call("resume") { rd_kafka_resume_partitions(rk, $0) }
    }

    // MARK: Metadata

    /// Low (oldest retained) and high (next to be written) offsets, queried from the broker.
    public func watermarkOffsets(
        topic: String,
        partition: Int32,
        timeout: Duration = .seconds(10)
    ) throws -> (low: Int64, high: Int64) {
        try ensureOpen()
        return try handle.watermarkOffsets(TopicPartition(topic, partition), timeout: timeout)
    }

    /// For each partition, the earliest offset whose timestamp is >= the given one (ms since the
    /// epoch); `KafkaOffset.end` when there is none.
    public func offsetsForTimes(
        _ timestamps: [TopicPartition: Int64],
        timeout: Duration = .seconds(10)
    ) throws -> [TopicPartition: Int64] {
        try ensureOpen()
        return try handle.offsetsForTimes(timestamps, timeout: timeout)
    }

    /// The partitions of `topic`, from cluster metadata.
    public func partitions(of topic: String, timeout: Duration = .seconds(10)) throws -> [TopicPartition] {
        try ensureOpen()
        return try handle.partitions(of: topic, timeout: timeout)
    }

    // MARK: Closing

    /// Leaves the group now, also as a static member: unsubscribes (the revoke callback runs here) and
    /// serves the queue until the member id is cleared (LeaveGroup sent) or `timeout` passes; messages
    /// fetched meanwhile are dropped. Returns whether the leave was seen; call `close()` afterwards.
    /// Why: librdkafka's `close()` sends no LeaveGroup for a static member (KIP-345), so its partitions
    /// would wait until `session.timeout.ms`, on some brokers forever; an unsubscribe still sends it.
    @discardableResult
    public func leaveGroup(timeout: Duration = .seconds(5)) throws -> Bool {
        try pollLock.withLock { _ throws -> Bool in
            try ensureOpen()
            guard isGroupMember, currentMemberID != nil else { return false }
            try KafkaError.check(rd_kafka_unsubscribe(rk), "unsubscribe")
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let message = rd_kafka_consumer_poll(rk, 10) { rd_kafka_message_destroy(message) }
                if currentMemberID == nil { return true }
            }
            logger.warning("no LeaveGroup seen within \(timeout); closing anyway")
            return false
        }
    }

    /// The member id the coordinator gave this consumer; nil before joining and after leaving.
    private var currentMemberID: String? {
        guard let id = rd_kafka_memberid(rk) else { return nil }
        defer { rd_kafka_mem_free(rk, id) }
        let text = String(cString: id)
        return text.isEmpty ? nil : text
    }

    /// Stops fetching and leaves the group (revoking partitions through the handler).
    /// Idempotent; later calls to other methods throw `.closed`. Waits for an in-flight `poll`.
    /// Note: a static member (`group.instance.id`) does not send LeaveGroup here (KIP-345); its
    /// partitions wait for its return (or, on Apache Kafka, for its session timeout). Call
    /// `leaveGroup()` first to hand them over now.
    public func close() throws {
        try pollLock.withLock { _ throws in
            guard
                !closed.withLock({ c in
                    defer { c = true }
                    return c
                })
            else { return }
            try KafkaError.check(rd_kafka_consumer_close(rk), "close")
        }
    }

    private func ensureOpen() throws {
        if closed.withLock({ $0 }) { throw KafkaError.closed("consumer") }
    }
}
