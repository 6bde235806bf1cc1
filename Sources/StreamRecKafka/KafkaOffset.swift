import CRDKafka

// The partition key type is shared with the core; clients of this module see it as theirs.
@_exported import struct StreamRecTopicPartition.TopicPartition

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
