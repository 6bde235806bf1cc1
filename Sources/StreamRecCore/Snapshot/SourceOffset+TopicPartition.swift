// The partition key type is shared with the Kafka wrapper; clients of the core see it as the core's.
@_exported import struct StreamRecTopicPartition.TopicPartition

extension SourceOffset {
    /// The partition this offset belongs to.
    public var key: TopicPartition { TopicPartition(topic, partition) }

    public init(_ key: TopicPartition, offset: Int64) {
        self.init(topic: key.topic, partition: key.partition, offset: offset)
    }
}
