import Dispatch
import Foundation
import Logging
import StreamRecCore
import StreamRecKafka

/// The Kafka link of shared item state: moves this learner's ``ItemSyncStream`` (the pure state, in the
/// core) over the model-sync topic (one partition, so every learner reads all batches in one order).
///
/// Publishing follows the snapshot: ``capturing`` collects `current − base` into a pending batch and
/// stores the stream state (with the sync topic offset read so far) in the snapshot; ``durable``
/// produces the pending batches, key = learner id, and only then may the loop commit the event
/// offsets. A failed send keeps them pending (and the offsets uncommitted); they are sent again at the
/// next durable snapshot or at restart, and duplicates are skipped by sequence. Reading: a group-less
/// consumer (assign, like ``RemoteListService``) from the stored offset, or from the beginning for a new
/// learner, polled without blocking in ``tick``; batches are applied under the learner lock.
final class ItemSyncLink: LoopParticipant {
    static let extensionKey = "item-sync"

    let topic: String
    let learnerID: String
    let intervalNanos: UInt64
    private let config: ServeConfig
    private let env: ServeEnvironment
    private var logger: Logger { env.logger }
    private var stream = ItemSyncStream()
    private var producer: KafkaProducer?
    private var consumer: KafkaConsumer?
    private var lastCaptureNanos = DispatchTime.now().uptimeNanoseconds
    private var stats: SyncStatus
    private var rejectLog = LogRateLimiter(burst: 5, intervalSeconds: 60)
    private var decoded: [(key: String, record: Received, bytes: Int, offset: Int64)] = []
    /// Values and sequences a received record must respect (``ItemDeltaLimits``), and its seal.
    private let limits: ItemDeltaLimits
    private let seal: RecordSeal
    /// This run's announcement reached the topic (sent before the first batch, retried until it did).
    private var announced = false

    private enum Received {
        case batch(ItemDeltaBatch)
        case announcement(SyncAnnouncement)
    }
    /// Largest sync record accepted and fetched (a batch carries every changed item row of one interval).
    static let maxRecordBytes = 64 << 20
    private static let flushTimeout: Duration = .seconds(10)

    init(_ env: ServeEnvironment) throws {
        self.env = env
        config = env.config
        topic = config.sync.resolvedTopic(config.kafka)
        guard let id = config.sync.resolvedLearnerID(config.kafka) else {
            throw ServeConfigError(
                "sync.learner_id must be set when sync.enabled is true (or kafka.instance_id, its default)"
            )
        }
        learnerID = id
        intervalNanos = UInt64(config.sync.intervalMillis) * 1_000_000
        stats = SyncStatus(topic: topic, learnerID: id)
        limits = config.sync.limits
        seal = RecordSeal(key: config.sync.recordSecret?.bytes, domain: .sync)
    }

    // MARK: start-up

    func restored(_ snapshot: LearnerSnapshot?, learner: LiveLearner) throws {
        if let snapshot, let bytes = snapshot.extensions[Self.extensionKey] {
            let (owner, state) = try Self.decodeExtension(bytes)
            guard owner == learnerID else {
                throw ServeConfigError(
                    "the snapshot's item-sync state belongs to learner '\(owner)', but sync.learner_id is '\(learnerID)': "
                        + "a learner must keep its id across restarts (its own batches are recognised by it)"
                )
            }
            do { stream = try ItemSyncStream(decoding: state) } catch {
                throw ServeConfigError("snapshot's item-sync state unreadable: \(error)")
            }
            learner.read { stream.rebase(on: $0) }
        } else if snapshot != nil {
            // Sync turned on for an existing model: no base yet, so the first batch publishes every item as new.
            logger.notice("item sync: the snapshot has no sync state; publishing every item as new")
        }
        if config.kafka.createTopics { createTopic() }
        producer = try KafkaProducer(configuration: producerConfig, logger: logger)
        let consumer = try KafkaConsumer(configuration: consumerConfig, logger: logger)
        self.consumer = consumer
        let start = stream.readPosition >= 0 ? stream.readPosition : KafkaOffset.beginning
        try consumer.assign([TopicPartition(topic, 0): start])
        stats.nextOffset = stream.readPosition
        logger.info(
            "item sync",
            metadata: [
                "topic": "\(topic)", "learner_id": "\(learnerID)",
                "from_offset": "\(stream.readPosition >= 0 ? "\(start)" : "beginning")",
                "pending": "\(stream.pending.count)", "interval_ms": "\(config.sync.intervalMillis)",
            ]
        )
        // The announcement (see ``announce``), then the batches of the restored snapshot that may never have reached the topic (a crash before the ack).
        do { try send(through: stream.sequence) } catch {
            logger.warning(
                "item sync: re-sending pending batches failed; retried at the next snapshot",
                metadata: ["error": "\(error)"]
            )
        }
        publishStatus()
    }

    /// The learner went back to `snapshot` (a lost revocation): the stream state it holds (sequence,
    /// publishers, pending batches), re-based on the restored learner, and reading again from the sync
    /// offset it stored (others' batches applied since are applied again; they are not duplicates for
    /// the restored per-publisher sequences). Pending batches are re-sent at the next durable snapshot;
    /// readers skip the copies.
    func rolledBack(to snapshot: LearnerSnapshot?, learner: LiveLearner) throws {
        if let bytes = snapshot?.extensions[Self.extensionKey] {
            stream = try ItemSyncStream(decoding: try Self.decodeExtension(bytes).state)
            learner.read { stream.rebase(on: $0) }
        } else {
            stream = ItemSyncStream()
            if snapshot != nil { learner.read { stream.rebase(on: $0) } }
        }
        let start = stream.readPosition >= 0 ? stream.readPosition : KafkaOffset.beginning
        try consumer?.assign([TopicPartition(topic, 0): start])
        stats.nextOffset = stream.readPosition
        publishStatus()
    }

    func createTopic() {
        do {
            let admin = try KafkaAdmin(configuration: config.adminKafkaConfig, logger: logger)
            // One partition: one order for everybody. Not compacted (every batch counts) and kept forever
            // by default: a new learner rebuilds the shared item state by reading it from the beginning.
            try admin.createTopics([
                .init(topic, partitions: 1, config: ["retention.ms": "-1", "cleanup.policy": "delete"])
            ])
        } catch {
            logger.debug("item sync: topic not created (it may exist): \(error)")
        }
    }

    var producerConfig: KafkaConfig {
        var c = config.producerKafkaConfig
        c["client.id"] = (c["client.id"] ?? "streamrec") + "-sync"
        c["linger.ms"] = "0"
        // Room for one split batch (sync.max_record_bytes) plus librdkafka's framing.
        if c["message.max.bytes"] == nil { c["message.max.bytes"] = String(config.sync.maxRecordBytes + 65_536) }
        return c
    }

    /// The learners' client and consumer properties without their group (assign, never subscribe).
    var consumerConfig: KafkaConfig {
        var props = config.kafka.properties.merging(config.kafka.consumerProperties) { _, new in new }
        props["bootstrap.servers"] = config.kafka.bootstrapServers
        props["group.id"] = nil
        props["group.instance.id"] = nil
        props["enable.auto.commit"] = "false"
        props["client.id"] = (props["client.id"] ?? "streamrec") + "-sync"
        // A batch may exceed the 1 MB defaults. Kafka honours fetch.max.bytes; some brokers ignore it and
        // send a catching-up learner the whole backlog in one response, hence the large receive limit
        // (librdkafka only needs it above fetch.max.bytes).
        props["fetch.max.bytes"] = props["fetch.max.bytes"] ?? String(Self.maxRecordBytes)
        props["max.partition.fetch.bytes"] = props["max.partition.fetch.bytes"] ?? String(Self.maxRecordBytes)
        props["receive.message.max.bytes"] = props["receive.message.max.bytes"] ?? "1000000000"
        return KafkaConfig(props)
    }

    // MARK: per event (inside the learner lock)

    func learned(
        _ event: Event,
        from message: KafkaMessage,
        outcome: PrequentialStep.Outcome,
        learner: inout OnlineLearner
    ) {
        stream.noteEvent()
        if case .success(let interaction) = outcome.result {
            stream.noteLearned(
                interaction,
                weight: config.weights.effectiveWeight(event),
                sharePairs: true,
                learner: learner
            )
        }
    }

    // MARK: reading

    func tick(learner: LiveLearner, now: UInt64) throws {
        guard let consumer else { return }
        let messages = try consumer.poll(maxMessages: 64, timeout: .zero)
        guard !messages.isEmpty else { return }
        decoded.removeAll(keepingCapacity: true)
        var lastOffset: Int64 = -1
        for m in messages {
            lastOffset = max(lastOffset, m.offset)
            guard let key = m.key, !key.isEmpty, key.count <= SyncConfig.maxLearnerIDBytes else {
                reject(.undecodable, "record without a learner id key", offset: m.offset)
                continue
            }
            let value: [UInt8]
            do { value = try seal.open(m.value, key: key) } catch {
                reject(error == .unsigned ? .unsigned : .badSignature, "record not authenticated", offset: m.offset)
                continue
            }
            do {
                let record: Received =
                    SyncAnnouncement.isAnnouncement(value)
                    ? .announcement(try SyncAnnouncement(decoding: value)) : .batch(try ItemDeltaCodec.decode(value))
                decoded.append((String(decoding: key, as: UTF8.self), record, m.value.count, m.offset))
            } catch {
                reject(.undecodable, "\(error)", offset: m.offset)
            }
        }
        var refused: [(SyncRejection, String, Int64)] = []
        let limits = self.limits
        learner.update { l in
            let k = l.config.factors
            let ctx = l.config.sequenceContext > 0
            for d in decoded {
                let own = d.key == learnerID
                // Checked whole before anything is applied: a refused record changes nothing.
                switch d.record {
                case .announcement(let a):
                    if let why = stream.announce(publisherID: d.key, sequence: a.sequence, own: own, limits: limits) {
                        refused.append((why, "announcement of '\(d.key)' at sequence \(a.sequence)", d.offset))
                    }
                case .batch(let batch):
                    if let why = stream.admission(
                        of: batch,
                        publisherID: d.key,
                        own: own,
                        limits: limits,
                        factors: k,
                        hasContext: ctx
                    ) {
                        refused.append((why, "batch of '\(d.key)' at sequence \(batch.sequence)", d.offset))
                        continue
                    }
                    do {
                        if try stream.apply(batch, publisherID: d.key, own: own, to: &l) {
                            if !own {
                                stats.batchesIn += 1
                                stats.bytesIn += Int64(d.bytes)
                                stats.eventsIn += batch.events
                            }
                        } else {
                            stats.duplicatesSkipped += 1
                        }
                    } catch {
                        refused.append((.outOfBounds, "\(error)", d.offset))
                    }
                }
            }
            // Under the lock, so a capture never sees applied batches without their offset.
            stream.readPosition = lastOffset + 1
        }
        for (why, what, offset) in refused { reject(why, what, offset: offset) }
        stats.nextOffset = lastOffset + 1
        publishStatus()
    }

    /// Counts a refused record by reason and logs it (rate-limited: forged records may come in floods).
    private func reject(_ reason: SyncRejection, _ what: String, offset: Int64) {
        stats.reject(reason)
        if case .log(let suppressed) = rejectLog.admit() {
            logger.error(
                "item sync: record refused",
                metadata: [
                    "offset": "\(offset)", "reason": "\(reason)", "record": "\(what)",
                    "suppressed_since_last": "\(suppressed)",
                ]
            )
        }
    }

    // MARK: publishing

    func wantsSnapshot(now: UInt64) -> Bool {
        now - lastCaptureNanos >= intervalNanos && (stream.hasUnpublished || !stream.pending.isEmpty)
    }

    func capturing(_ snapshot: inout LearnerSnapshot) {
        lastCaptureNanos = DispatchTime.now().uptimeNanoseconds
        stream.collect(from: snapshot.learner, maxRecordBytes: config.sync.maxRecordBytes)
        snapshot.extensions[Self.extensionKey] = Self.encodeExtension(
            learnerID: learnerID,
            state: stream.encodeState(learner: snapshot.learner)
        )
    }

    func durable(_ snapshot: LearnerSnapshot) throws {
        guard let bytes = snapshot.extensions[Self.extensionKey], let state = try? Self.decodeExtension(bytes).state,
            let through = ItemSyncStream.sequence(ofState: state)
        else { return }
        try send(through: through)
        publishStatus()
    }

    /// Produces the pending batches up to `sequence`, one at a time (each acknowledged before the next,
    /// so a publisher's sequences reach the topic in order), and forgets the acknowledged ones.
    private func send(through sequence: UInt64) throws {
        guard let producer else { return }
        if !announced {
            try announce()
            announced = true
        }
        let key = Array(learnerID.utf8)
        for batch in stream.pending where batch.sequence <= sequence {
            let value = seal.seal(ItemDeltaCodec.encode(batch), key: key)
            let failed = producer.failedCount
            try producer.send(topic: topic, partition: 0, key: key, value: value)
            try producer.flush(timeout: Self.flushTimeout)
            guard producer.failedCount == failed else {
                throw KafkaError.timedOut("item sync: batch \(batch.sequence) not delivered to \(topic)")
            }
            stream.acknowledge(through: batch.sequence)
            stats.published(bytes: value.count, events: batch.events)
        }
    }

    /// Tells the group this learner publishes here, with its last acknowledged sequence (its pending
    /// batches follow, numbered from there): readers accept batches only from announced learners.
    private func announce() throws {
        guard let producer else { return }
        let acknowledged = (stream.pending.first?.sequence ?? stream.sequence + 1) - 1
        let key = Array(learnerID.utf8)
        let failed = producer.failedCount
        try producer.send(
            topic: topic,
            partition: 0,
            key: key,
            value: seal.seal(SyncAnnouncement(sequence: acknowledged).encoded(), key: key)
        )
        try producer.flush(timeout: Self.flushTimeout)
        guard producer.failedCount == failed else {
            throw KafkaError.timedOut("item sync: announcement not delivered to \(topic)")
        }
    }

    func close() {
        // The run's sync traffic, once: what operators (and bench/learners-bench.sh) read without HTTP.
        let s = stats
        env.logger.info(
            "item sync totals",
            metadata: [
                "sync_batches_out": "\(s.batchesOut)", "sync_bytes_out": "\(s.bytesOut)",
                "sync_events_out": "\(s.eventsOut)",
                "sync_batches_in": "\(s.batchesIn)", "sync_bytes_in": "\(s.bytesIn)", "sync_events_in": "\(s.eventsIn)",
                "sync_duplicates_skipped": "\(s.duplicatesSkipped)", "sync_pending": "\(stream.pending.count)",
            ]
        )
        if let producer { try? producer.close(flushTimeout: .seconds(5)) }
        if let consumer { try? consumer.close() }
        producer = nil
        consumer = nil
    }

    private func publishStatus() {
        stats.pendingBatches = stream.pending.count
        let s = stats
        env.status.update { $0.sync = s }
    }

    // MARK: snapshot section: u16 learner-id length, learner id, ItemSyncStream state

    static func encodeExtension(learnerID: String, state: [UInt8]) -> [UInt8] {
        let id = Array(learnerID.utf8)
        var out: [UInt8] = [UInt8(id.count & 0xff), UInt8(id.count >> 8)]
        out.reserveCapacity(2 + id.count + state.count)
        out.append(contentsOf: id)
        out.append(contentsOf: state)
        return out
    }

    static func decodeExtension(_ bytes: [UInt8]) throws -> (learnerID: String, state: [UInt8]) {
        guard bytes.count >= 2 else { throw ServeConfigError("snapshot's item-sync section truncated") }
        let n = Int(bytes[0]) | Int(bytes[1]) << 8
        guard n <= SyncConfig.maxLearnerIDBytes, bytes.count >= 2 + n else {
            throw ServeConfigError("snapshot's item-sync section truncated")
        }
        return (String(decoding: bytes[2..<(2 + n)], as: UTF8.self), Array(bytes[(2 + n)...]))
    }
}
