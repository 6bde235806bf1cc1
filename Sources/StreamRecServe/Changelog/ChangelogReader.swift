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

    /// One changelog partition's latest state: for each input topic-partition its latest checkpoint,
    /// and for each user the latest record written before the newest checkpoint.
    struct Contents {
        var checkpoints: [TopicPartition: ChangelogCheckpoint] = [:]
        /// Latest value per user (empty = removed), from records before the newest checkpoint: records
        /// after it belong to a durable step that failed before its checkpoint was written.
        var users: [String: [UInt8]] = [:]
        var records = 0
        var bytes = 0
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
        var out: [Int32: Contents] = [:]
        for p in partitions { out[p] = Self.digest(messages[p] ?? [], logger: logger) }
        return out
    }

    /// Latest checkpoint per input partition; latest user record before the newest checkpoint.
    static func digest(_ messages: [KafkaMessage], logger: Logger) -> Contents {
        var c = Contents()
        var lastCheckpoint = -1
        for (i, m) in messages.enumerated() {
            c.records += 1
            c.bytes += m.value.count + (m.key?.count ?? 0)
            guard ChangelogCheckpoint.isCheckpointKey(m.key) else { continue }
            do {
                let cp = try ChangelogCheckpoint(decoding: m.value)
                c.checkpoints[cp.topicPartition] = cp
                lastCheckpoint = i
            } catch {
                logger.error(
                    "changelog: unreadable checkpoint skipped",
                    metadata: ["offset": "\(m.partition)@\(m.offset)", "error": "\(error)"]
                )
            }
        }
        for m in messages.prefix(lastCheckpoint + 1) {
            guard let key = m.key, !key.isEmpty, !ChangelogCheckpoint.isCheckpointKey(key) else { continue }
            c.users[String(decoding: key, as: UTF8.self)] = m.value
        }
        return c
    }
}
