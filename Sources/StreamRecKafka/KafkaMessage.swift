import CRDKafka

/// One record header. Kafka allows duplicate keys, so headers are a list, not a dictionary.
public struct KafkaHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]

    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// A consumed record. Bytes are copied out of librdkafka's buffers so the native message can be
/// destroyed right away (holding it would pin fetch buffers and block librdkafka's memory reuse).
public struct KafkaMessage: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    /// The payload; a null (tombstone) payload reads as empty.
    public var value: [UInt8]
    /// Milliseconds since the epoch (create or log-append time, per topic config); nil if unknown.
    public var timestamp: Int64?
    public var headers: [KafkaHeader]

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8],
        timestamp: Int64? = nil,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }

    /// First header with `key`, if any.
    public func header(_ key: String) -> [UInt8]? { headers.first { $0.key == key }?.value }

    /// Copies a successful native message (the caller still owns and destroys it).
    init(_ rk: UnsafePointer<rd_kafka_message_t>) {
        let m = rk.pointee
        topic = String(optionalCString: rd_kafka_topic_name(m.rkt)) ?? ""
        partition = m.partition
        offset = m.offset
        key = copyBytes(m.key, count: m.key_len)
        value = copyBytes(m.payload, count: m.len) ?? []
        let ts = rd_kafka_message_timestamp(rk, nil)
        timestamp = ts >= 0 ? ts : nil
        headers = Self.headers(of: rk)
    }

    private static func headers(of rk: UnsafePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(rk, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(hdrs, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            result.append(
                KafkaHeader(key: String(optionalCString: name) ?? "", value: copyBytes(value, count: size) ?? [])
            )
            index += 1
        }
        return result
    }
}
