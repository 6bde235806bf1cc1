import Dispatch
import Logging
import StreamRecCore
import StreamRecKafka

/// User state partitioned like the input: the users of input partition p are written to
/// partition p of a compacted changelog topic (key = user id, value = ``UserStateRecord``), followed by
/// one ``ChangelogCheckpoint`` per input partition holding the next input offset the records cover and the
/// partition's learned-event count. A learner assigned a partition restores its users from there
/// (`+Restore`); on revocation it drops them.
///
/// Order per snapshot: capture (``capturing``: the users changed since the last capture are frozen) →
/// snapshot file durable → changelog records + checkpoints flushed (``durable``) → offsets committed. So
/// a checkpoint never claims more than the snapshot holds, and a commit never claims more than the
/// changelog holds: whoever owns the partition next continues at the checkpoint, exactly once.
///
/// All hooks run on the learner thread; per-event work (``learned``) is two array writes and, for a user's
/// first event since the last capture, an append to a reused array.
final class UserStateChangelog: LoopParticipant {
    let topic: String
    let status: ServeStatus
    let metrics: StreamRecMetrics
    let logger: Logger
    let producer: KafkaProducer
    let reader: ChangelogReader
    let restoreTimeout: Duration
    /// Tags every record written when `changelog.record_secret` is set (``RecordSeal``).
    let seal: RecordSeal

    // Input partitions by a small index (never reused: a learner sees few partitions).
    var partitionIndex: [TopicPartition: Int32] = [:]
    var partitionList: [TopicPartition] = []
    /// Learned events per partition index (meaningful for assigned partitions).
    var learnedCounts: [Int64] = []
    var assignedPartitions: Set<TopicPartition> = []
    /// Partitions whose users this learner holds in memory (assigned and restored or kept); persisted.
    var held: Set<TopicPartition> = []
    private var lastTopic = "", lastPartition: Int32 = -1, lastIndex: Int32 = -1
    /// Per user slot: the index of the partition its latest event came from (-1 = none).
    var slotPartition: [Int32] = []
    /// Users changed since the last capture: slots, deduplicated by a per-slot generation mark.
    private var dirtyMark: [UInt32] = []
    private var dirtySlots: [Int32] = []
    private var generation: UInt32 = 1
    /// Captured users not yet in the changelog, per partition (kept across failed durable steps).
    var pending: [TopicPartition: Set<String>] = [:]
    /// Learned counts of the assigned partitions at the last capture: what its checkpoints carry.
    private var captured: [TopicPartition: Int64] = [:]
    /// Indices of revoked partitions whose users are still to be dropped (``dropRevoked``).
    var toDrop: Set<Int32> = []
    /// A restore that failed inside a rebalance callback (which can't throw): stops the loop at the next tick.
    var fatal: (any Error)?

    init(env: ServeEnvironment) throws {
        let config = env.config
        topic = config.changelog.topicName(groupID: config.kafka.groupID)
        status = env.status
        metrics = env.metrics
        logger = env.logger
        restoreTimeout = .milliseconds(config.changelog.restoreTimeoutMillis)
        let failures = env.logger
        producer = try KafkaProducer(
            configuration: config.producerKafkaConfig,
            onError: { error in
                failures.warning("changelog producer: \(error)")
            },
            logger: env.logger
        )
        var props = config.kafka.properties.merging(config.kafka.consumerProperties) { _, new in new }
        props["bootstrap.servers"] = config.kafka.bootstrapServers
        props["group.id"] = nil
        props["group.instance.id"] = nil
        props["client.id"] = (props["client.id"] ?? "streamrec") + "-changelog"
        seal = RecordSeal(key: config.changelog.recordSecret?.bytes, domain: .changelog)
        reader = ChangelogReader(kafkaConfig: KafkaConfig(props), topic: topic, logger: env.logger, seal: seal)
    }

    func index(of tp: TopicPartition) -> Int32 {
        if let i = partitionIndex[tp] { return i }
        let i = Int32(partitionList.count)
        partitionIndex[tp] = i
        partitionList.append(tp)
        learnedCounts.append(0)
        return i
    }

    /// Makes the per-slot arrays cover `slot` (amortized growth as the learner's user slots grow).
    func cover(slot: Int32) {
        let needed = Int(slot) + 1
        guard needed > slotPartition.count else { return }
        let grown = max(needed, slotPartition.count * 2, 1024)
        slotPartition.append(contentsOf: repeatElement(-1, count: grown - slotPartition.count))
        dirtyMark.append(contentsOf: repeatElement(0, count: grown - dirtyMark.count))
    }

    // MARK: Hooks

    func restored(_ snapshot: LearnerSnapshot?, learner: LiveLearner) throws {
        guard let snapshot else { return }
        guard let bytes = snapshot.extensions[ChangelogSnapshotSection.key] else {
            // A snapshot from before the changelog was enabled holds every user of its partitions.
            held = Set(snapshot.position.offsetsByPartition.keys)
            return
        }
        let section = try ChangelogSnapshotSection(decoding: bytes)
        for p in section.partitions {
            let i = index(of: p.topicPartition)
            learnedCounts[Int(i)] = max(0, p.learned)
            if p.held { held.insert(p.topicPartition) }
            if !p.pending.isEmpty { pending[p.topicPartition] = Set(p.pending) }
        }
        let remap = section.partitions.map { index(of: $0.topicPartition) }
        slotPartition = section.slotPartition.map { $0 < 0 ? -1 : remap[Int($0)] }
        dirtyMark = [UInt32](repeating: 0, count: slotPartition.count)
        logger.info(
            "changelog state restored from the snapshot",
            metadata: [
                "held": "\(held.sorted().map(\.description).joined(separator: ","))",
                "pending_users": "\(pending.values.reduce(0) { $0 + $1.count })",
            ]
        )
    }

    /// The learner went back to `snapshot` (a lost revocation): every count, user-partition mark and
    /// pending user is what the snapshot holds (the revocation that follows drops the lost partitions).
    func rolledBack(to snapshot: LearnerSnapshot?, learner: LiveLearner) throws {
        for i in learnedCounts.indices { learnedCounts[i] = 0 }
        held = []
        slotPartition = []
        dirtyMark = []
        dirtySlots = []
        pending = [:]
        captured = [:]
        toDrop = []
        lastTopic = ""
        lastPartition = -1
        try restored(snapshot, learner: learner)
    }

    func learned(
        _ event: Event,
        from message: KafkaMessage,
        outcome: PrequentialStep.Outcome,
        learner: inout OnlineLearner
    ) {
        let p: Int32
        if message.partition == lastPartition && message.topic == lastTopic {
            p = lastIndex
        } else {
            p = index(of: message.topicPartition)
            lastTopic = message.topic
            lastPartition = message.partition
            lastIndex = p
        }
        learnedCounts[Int(p)] &+= 1
        let slot: Int32
        switch outcome.result {
        case .success(let interaction): slot = interaction.userSlot
        case .failure:
            guard let s = learner.users.index(of: event.user) else { return }
            slot = s
        }
        cover(slot: slot)
        slotPartition[Int(slot)] = p
        if dirtyMark[Int(slot)] != generation {
            dirtyMark[Int(slot)] = generation
            dirtySlots.append(slot)
        }
    }

    func tick(learner: LiveLearner, now: UInt64) throws {
        if let fatal { throw fatal }
        dropRevoked(learner: learner)
        publishCounts()
    }

    func capturing(_ snapshot: inout LearnerSnapshot) {
        let users = snapshot.learner.users
        for slot in dirtySlots {
            let p = slotPartition[Int(slot)]
            guard p >= 0, let id = users.id(at: slot) else { continue }
            let tp = partitionList[Int(p)]
            if assignedPartitions.contains(tp) { pending[tp, default: []].insert(id) }
        }
        dirtySlots.removeAll(keepingCapacity: true)
        generation = generation == .max ? 1 : generation + 1
        captured = Dictionary(uniqueKeysWithValues: assignedPartitions.map { ($0, learnedCounts[Int(index(of: $0))]) })
        var section = ChangelogSnapshotSection()
        section.partitions = partitionList.enumerated().map { i, tp in
            .init(
                topicPartition: tp,
                learned: learnedCounts[i],
                held: held.contains(tp),
                pending: (pending[tp] ?? []).sorted()
            )
        }
        section.slotPartition = Array(slotPartition.prefix(users.slotCount))
        snapshot.extensions[ChangelogSnapshotSection.key] = section.encoded()
        publishCounts()
    }

    /// Writes the captured users' records from the snapshot's learner copy, then one checkpoint per
    /// assigned partition at the snapshot's offsets, and waits for the broker to acknowledge them all.
    func durable(_ snapshot: LearnerSnapshot) throws {
        let failedBefore = producer.failedCount
        var records = 0
        var bytes = 0
        for tp in pending.keys.sorted() {
            for id in pending[tp]!.sorted() {
                // A user gone from the learner (evicted, expired) is written as an empty value: restores skip it.
                let key = Array(id.utf8)
                let value = seal.seal(snapshot.learner.exportUser(id)?.encoded() ?? [], key: key)
                try producer.send(topic: topic, partition: tp.partition, key: key, value: value)
                records += 1
                bytes += key.count + value.count
            }
        }
        for (tp, learned) in captured.sorted(by: { $0.key < $1.key }) {
            guard let next = snapshot.position.offset(of: tp) else { continue }
            let key = ChangelogCheckpoint.key(tp)
            let value = seal.seal(
                ChangelogCheckpoint(topicPartition: tp, next: next, learned: learned).encoded(),
                key: key
            )
            try producer.send(topic: topic, partition: tp.partition, key: key, value: value)
            records += 1
            bytes += value.count
        }
        guard records > 0 else { return }
        try producer.flush(timeout: .seconds(30))
        let failed = producer.failedCount - failedBefore
        guard failed == 0 else {
            throw ChangelogError("\(failed) of \(records) changelog records failed delivery to '\(topic)'")
        }
        pending.removeAll()
        metrics.recordChangelogWrite(records: records, bytes: bytes)
    }

    /// After the hand-over snapshot: the partitions' users leave memory (their state is in the changelog;
    /// if the partition comes back it is restored from there, never served stale). The bookkeeping stops
    /// now (nothing more of these partitions is written: the next owner may already be restoring them);
    /// the users themselves are dropped at the next tick or assignment, so a shutdown (whose consumer
    /// close revokes everything) leaves the final in-memory model whole, and a partition an eager
    /// rebalance revokes and assigns straight back is kept when nobody learned it in between.
    func revoked(_ partitions: [TopicPartition], lost: Bool, learner: LiveLearner) {
        for tp in partitions {
            // Unwritten changes of a revoked partition are not written later: the next owner restores from
            // the last checkpoint (no event lost, none counted twice).
            pending[tp] = nil
            captured[tp] = nil
            assignedPartitions.remove(tp)
            if let i = partitionIndex[tp] { toDrop.insert(i) }
        }
        logger.info(
            "changelog: partitions revoked, their users leave memory",
            metadata: [
                "partitions": "\(partitions.map(\.description).joined(separator: ","))", "lost": "\(lost)",
            ]
        )
    }

    /// Drops the users of the partitions revoked since the last call.
    func dropRevoked(learner: LiveLearner) {
        guard !toDrop.isEmpty else { return }
        var dropped = 0
        learner.update { l in
            for s in slotPartition.indices where toDrop.contains(slotPartition[s]) {
                if let id = l.users.id(at: Int32(s)), l.removeUser(id) { dropped += 1 }
                slotPartition[s] = -1
            }
        }
        for i in toDrop {
            held.remove(partitionList[Int(i)])
            learnedCounts[Int(i)] = 0
        }
        toDrop.removeAll()
        metrics.recordChangelogDropped(users: dropped)
        logger.info("changelog: dropped the revoked partitions' users", metadata: ["users": "\(dropped)"])
    }

    func close() {
        do { try producer.close(flushTimeout: .seconds(10)) } catch {
            logger.warning("changelog producer close: \(error)")
        }
    }

    /// Refused records of a restore read, into the status (`/stats` `changelogRejected`, `/metrics`).
    func noteRejected(_ rejected: [ChangelogRejection: Int]) {
        guard !rejected.isEmpty else { return }
        status.update { s in
            for (reason, n) in rejected { s.changelogRejected[reason.rawValue, default: 0] += Int64(n) }
        }
    }

    /// Learned counts of the assigned partitions into the status (`GET /stats`: `status.partitions[].learnedEvents`).
    func publishCounts() {
        guard !assignedPartitions.isEmpty else { return }
        status.update { s in
            for i in s.partitions.indices {
                if let p = partitionIndex[s.partitions[i].key], assignedPartitions.contains(s.partitions[i].key) {
                    s.partitions[i].learnedEvents = learnedCounts[Int(p)]
                }
            }
        }
    }
}
