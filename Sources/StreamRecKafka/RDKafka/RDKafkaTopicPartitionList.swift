import CRDKafka

/// Owns an `rd_kafka_topic_partition_list_t` built from Swift values, and reads any list
/// (including the borrowed ones librdkafka passes to the rebalance callback).
final class RDKafkaTopicPartitionList {
    typealias Pointer = UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    struct Entry {
        var topicPartition: TopicPartition
        var offset: Int64
        var error: rd_kafka_resp_err_t
    }

    /// Private so every C call goes through `call`, which keeps `self` alive for its duration
    /// (a bare `.pointer` lets Swift release a temporary list before the C call reads it).
    private let pointer: Pointer

    init<S: Sequence<(TopicPartition, Int64)>>(_ entries: S) {
        pointer = rd_kafka_topic_partition_list_new(Int32(entries.underestimatedCount))
        for (tp, offset) in entries {
            rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition).pointee.offset = offset
        }
    }

    convenience init(_ offsets: [TopicPartition: Int64]) {
        self.init(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    convenience init<S: Sequence<TopicPartition>>(partitions: S, offset: Int64 = KafkaOffset.invalid) {
        self.init(partitions.map { ($0, offset) })
    }

    /// Takes ownership of a list librdkafka allocated for the caller (e.g. `rd_kafka_assignment`).
    init(owning pointer: Pointer) { self.pointer = pointer }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    var entries: [Entry] { withExtendedLifetime(self) { Self.entries(of: pointer) } }

    /// Runs a librdkafka call on the list; throws its error, then the first per-partition error.
    func call(_ operation: String, checkPartitions: Bool = true, _ body: (Pointer) -> rd_kafka_resp_err_t) throws {
        try withExtendedLifetime(self) { try KafkaError.check(body(pointer), operation) }
        if checkPartitions { try checkErrors(operation) }
    }

    /// Same for calls returning an `rd_kafka_error_t`.
    func call(_ operation: String, checkPartitions: Bool = true, _ body: (Pointer) -> OpaquePointer?) throws {
        try withExtendedLifetime(self) { try KafkaError.check(body(pointer), operation) }
        if checkPartitions { try checkErrors(operation) }
    }

    /// `[partition: offset]`, leaving out partitions whose offset is logical (< 0, e.g. "none committed").
    var offsets: [TopicPartition: Int64] {
        entries.reduce(into: [:]) { if $1.offset >= 0 { $0[$1.topicPartition] = $1.offset } }
    }

    /// Throws the first per-partition error, naming the partition.
    private func checkErrors(_ operation: String) throws {
        if let bad = entries.first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) {
            throw KafkaError(bad.error, "\(operation) \(bad.topicPartition)")
        }
    }

    static func entries(of list: Pointer?) -> [Entry] {
        guard let list, let elems = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { i in
            let e = elems[i]
            return Entry(
                topicPartition: TopicPartition(String(cString: e.topic), e.partition),
                offset: e.offset,
                error: e.err
            )
        }
    }

    /// Sets offsets in place for the partitions present in `offsets`.
    static func setOffsets(_ offsets: [TopicPartition: Int64], in list: Pointer) {
        guard let elems = list.pointee.elems else { return }
        for i in 0..<Int(list.pointee.cnt) {
            let tp = TopicPartition(String(cString: elems[i].topic), elems[i].partition)
            if let offset = offsets[tp] { elems[i].offset = offset }
        }
    }
}
