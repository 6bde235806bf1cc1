/// One partition of one topic: the one key of every per-partition map — consumer offsets and
/// assignments (`StreamRecKafka`), snapshot positions (`StreamRecCore`), the serve status' partitions.
/// A module of its own so the core and the Kafka wrapper share it without depending on each other;
/// both re-export it.
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
