import CRDKafka

/// One partition of one topic; the key of every offset map in this module.
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

/// librdkafka's logical offsets, usable wherever a start offset is expected.
/// Real offsets are `>= 0` and always mean "the next offset to read".
public enum KafkaOffset {
    /// The oldest retained message.
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    /// The next message produced after assignment (the high watermark).
    public static let end = Int64(RD_KAFKA_OFFSET_END)
    /// The group's committed offset (falling back to `auto.offset.reset`).
    public static let stored = Int64(RD_KAFKA_OFFSET_STORED)
    /// "No offset"; for a start offset it means the same as `stored`.
    public static let invalid = Int64(RD_KAFKA_OFFSET_INVALID)
}
