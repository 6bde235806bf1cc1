/// Where in its input a learner stood when a snapshot was taken. Opaque to the core: the file replay
/// records an event count, the Kafka path the next offset to read per topic-partition.
public struct SourcePosition: Sendable, Equatable, Codable {
    /// Events consumed from the source so far (for file replay: index of the next event).
    public var eventsConsumed: Int64
    /// Kafka offsets: the next offset to consume per partition (Kafka's committed-offset convention),
    /// kept sorted by partition key so encoding is deterministic.
    public private(set) var offsets: [SourceOffset]

    public init(eventsConsumed: Int64 = 0, offsets: [SourceOffset] = []) {
        self.eventsConsumed = eventsConsumed
        self.offsets = offsets.sorted { $0.key < $1.key }
    }

    /// From a map of next offsets per partition.
    public init(eventsConsumed: Int64 = 0, offsets: [TopicPartition: Int64]) {
        self.init(eventsConsumed: eventsConsumed, offsets: offsets.map { SourceOffset($0.key, offset: $0.value) })
    }

    /// The next offset per partition.
    public var offsetsByPartition: [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: offsets.map { ($0.key, $0.offset) })
    }

    public func offset(of key: TopicPartition) -> Int64? {
        offsets.first { $0.key == key }?.offset
    }

    public func offset(topic: String, partition: Int32) -> Int64? { offset(of: TopicPartition(topic, partition)) }

    public mutating func setOffset(_ offset: Int64, for key: TopicPartition) {
        if let i = offsets.firstIndex(where: { $0.key == key }) {
            offsets[i].offset = offset
        } else {
            offsets.append(SourceOffset(key, offset: offset))
            offsets.sort { $0.key < $1.key }
        }
    }

    public mutating func setOffset(_ offset: Int64, topic: String, partition: Int32) {
        setOffset(offset, for: TopicPartition(topic, partition))
    }

    func encode(into w: inout BinaryWriter) {
        w.write(eventsConsumed)
        w.write(UInt32(offsets.count))
        for o in offsets {
            w.write(o.topic)
            w.write(o.partition)
            w.write(o.offset)
        }
    }

    static func decode(from r: inout BinaryReader) throws(BinaryReader.Failure) -> SourcePosition {
        let events = try r.read(Int64.self, "events consumed")
        let n = try r.read(UInt32.self, "offset count")
        guard n <= 1_000_000 else { throw .init(description: "implausible offset count \(n)") }
        var offsets = [SourceOffset]()
        for _ in 0..<n {
            offsets.append(
                .init(
                    topic: try r.readString("topic", maxBytes: 1024),
                    partition: try r.read(Int32.self, "partition"),
                    offset: try r.read(Int64.self, "offset")
                )
            )
        }
        return SourcePosition(eventsConsumed: events, offsets: offsets)
    }
}
