/// One partition of one topic: the one key of every per-partition map — consumer offsets and
/// assignments (`StreamRecKafka`), snapshot positions (``SourcePosition``), the serve status'
/// partitions and a list's ``SourceOffset``. Lives in the core because snapshots key by it; the Kafka
/// wrapper re-exports it.
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

extension SourceOffset {
    /// The partition this offset belongs to.
    public var key: TopicPartition { TopicPartition(topic, partition) }

    public init(_ key: TopicPartition, offset: Int64) {
        self.init(topic: key.topic, partition: key.partition, offset: offset)
    }
}
