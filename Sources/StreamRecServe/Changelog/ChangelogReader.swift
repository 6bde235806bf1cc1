import Dispatch
import Logging
import StreamRecCore
import StreamRecKafka

/// Reads changelog partitions from their beginning to their high watermark (as of the start of the read)
/// with a consumer of its own that assigns partitions instead of joining a group (it never takes part in
/// the learners' rebalances and commits nothing), like ``RemoteListService``'s reader.
struct ChangelogReader {
    let kafkaConfig: KafkaConfig
    let topic: String
    let logger: Logger
    /// Opens (and with a key, authenticates) every record's value.
    var seal = RecordSeal(key: nil, domain: .changelog)

    /// One changelog partition's latest state: for each input topic-partition its latest checkpoint,
    /// and for each user the latest record written before the newest checkpoint.
    struct Contents {
        var checkpoints: [TopicPartition: ChangelogCheckpoint] = [:]
        /// Latest readable record per user (a removal deletes the entry), from records before the newest
        /// valid checkpoint: records after it belong to a durable step that failed before its checkpoint
        /// was written. An unreadable record leaves the user's previous good one in place.
        var users: [String: UserStateRecord] = [:]
        var records = 0
        var bytes = 0
        /// Records refused, by reason.
        var rejected: [ChangelogRejection: Int] = [:]
    }

    /// Reads `partitions` of the changelog; throws when one doesn't exist or the read takes longer than
    /// `timeout`.
    func read(partitions: [Int32], timeout: Duration) throws -> [Int32: Contents] {
        let deadline = ContinuousClock.now + timeout
        let consumer = try KafkaConsumer(configuration: kafkaConfig, logger: logger)
        defer { try? consumer.close() }
        let existing = Set(try consumer.partitions(of: topic, timeout: timeout).map(\.partition))
        if let missing = partitions.first(where: { !existing.contains($0) }) {
            throw ChangelogError(
                "changelog topic '\(topic)' has no partition \(missing) (it has \(existing.count)); "
                    + "it needs as many partitions as the event topics"
            )
        }
        var ends: [Int32: Int64] = [:]
        var start: [TopicPartition: Int64] = [:]
        for p in partitions {
            let marks = try consumer.watermarkOffsets(topic: topic, partition: p, timeout: timeout)
            if marks.high > marks.low {
                ends[p] = marks.high
                start[TopicPartition(topic, p)] = KafkaOffset.beginning
            }
        }
        var messages: [Int32: [KafkaMessage]] = [:]
        if !start.isEmpty {
            try consumer.assign(start)
            var done: Set<Int32> = []
            while done.count < ends.count {
                guard ContinuousClock.now < deadline else {
                    throw ChangelogError(
                        "restoring from changelog topic '\(topic)' took longer than \(timeout) "
                            + "(changelog.restore_timeout_ms); partitions still reading: \(Set(ends.keys).subtracting(done).sorted())"
                    )
                }
                let batch = try consumer.poll(maxMessages: 5000, timeout: .milliseconds(100))
                for m in batch { messages[m.partition, default: []].append(m) }
                for (p, end) in ends where !done.contains(p) {
                    if let last = messages[p]?.last, last.offset + 1 >= end {
                        done.insert(p)
                        continue
                    }
                    // Compaction may have removed the last offsets: the consumer's position says it is past them.
                    if batch.isEmpty,
                        let pos = try? consumer.position([TopicPartition(topic, p)])[TopicPartition(topic, p)],
                        pos >= end
                    {
                        done.insert(p)
                    }
                }
            }
        }
        // The input partitions' high watermarks, for the checkpoints' range check (a failed query fails
        // the restore, as a failed read does: restoring an unchecked checkpoint could re-learn a partition).
        var highs: [TopicPartition: Int64] = [:]
        for m in messages.values.joined() where ChangelogCheckpoint.isCheckpointKey(m.key) {
            guard let cp = try? ChangelogCheckpoint(decoding: seal.open(m.value, key: m.key ?? [])),
                highs[cp.topicPartition] == nil, ServeConfig.isValidTopicName(cp.topicPartition.topic)
            else { continue }
            highs[cp.topicPartition] =
                try consumer.watermarkOffsets(
                    topic: cp.topicPartition.topic,
                    partition: cp.topicPartition.partition,
                    timeout: max(.seconds(1), deadline - ContinuousClock.now)
                ).high
        }
        var out: [Int32: Contents] = [:]
        for p in partitions {
            out[p] = Self.digest(messages[p] ?? [], seal: seal, highWatermarks: highs, logger: logger)
        }
        return out
    }

    /// Latest valid checkpoint per input partition; latest readable user record before the newest valid
    /// checkpoint. `highWatermarks`: of the input partitions (a checkpoint of a partition missing there,
    /// or past its high watermark, is refused). Refused records are counted by reason and logged
    /// (at most a few lines per read: a forged flood must not flood the log).
    static func digest(
        _ messages: [KafkaMessage],
        seal: RecordSeal,
        highWatermarks: [TopicPartition: Int64],
        logger: Logger
    ) -> Contents {
        var c = Contents()
        var lastCheckpoint = -1
        var opened: [[UInt8]?] = []
        opened.reserveCapacity(messages.count)
        var logged = 0
        func refuse(_ why: ChangelogRejection, _ m: KafkaMessage, _ detail: String) {
            c.rejected[why, default: 0] += 1
            logged += 1
            guard logged <= 5 else { return }
            logger.error(
                "changelog: record refused",
                metadata: ["offset": "\(m.partition)@\(m.offset)", "reason": "\(why)", "error": "\(detail)"]
            )
        }
        for (i, m) in messages.enumerated() {
            c.records += 1
            c.bytes += m.value.count + (m.key?.count ?? 0)
            do {
                opened.append(try seal.open(m.value, key: m.key ?? []))
            } catch {
                opened.append(nil)
                refuse(error == .unsigned ? .unsigned : .badSignature, m, "record not authenticated")
                continue
            }
            guard ChangelogCheckpoint.isCheckpointKey(m.key), let value = opened[i] else { continue }
            let cp: ChangelogCheckpoint
            do {
                cp = try ChangelogCheckpoint(decoding: value)
                guard cp.topicPartition.partition == m.partition, m.key == ChangelogCheckpoint.key(cp.topicPartition)
                else { throw ChangelogError("checkpoint of \(cp.topicPartition) under another key or partition") }
            } catch {
                refuse(.undecodableCheckpoint, m, "\(error)")
                continue
            }
            guard let high = highWatermarks[cp.topicPartition], cp.next <= high, cp.learned <= cp.next else {
                refuse(
                    .checkpointOutOfRange,
                    m,
                    "\(cp.topicPartition): next \(cp.next), learned \(cp.learned), high watermark "
                        + "\(highWatermarks[cp.topicPartition].map(String.init) ?? "unknown")"
                )
                continue
            }
            c.checkpoints[cp.topicPartition] = cp
            lastCheckpoint = i
        }
        for (i, m) in messages.prefix(lastCheckpoint + 1).enumerated() {
            guard let key = m.key, !key.isEmpty, !ChangelogCheckpoint.isCheckpointKey(key), let value = opened[i]
            else { continue }
            let id = String(decoding: key, as: UTF8.self)
            if value.isEmpty {
                c.users[id] = nil
                continue
            }
            do {
                let record = try UserStateRecord(decoding: value)
                guard record.user == id else { throw ChangelogError("record of '\(record.user)' under key '\(id)'") }
                c.users[id] = record
            } catch {
                refuse(.unreadableUserRecord, m, "user '\(id)': \(error) (the previous good record is kept)")
            }
        }
        return c
    }
}
