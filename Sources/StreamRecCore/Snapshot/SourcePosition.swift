/// Where in its input a learner stood when a snapshot was taken. Opaque to the core: the file replay
/// records an event count, the Kafka path the next offset to read per topic-partition.
public struct SourcePosition: Sendable, Equatable, Codable {
    /// Next offset to consume of one partition (Kafka's committed-offset convention).
    public typealias PartitionOffset = SourceOffset

    /// Events consumed from the source so far (for file replay: index of the next event).
    public var eventsConsumed: Int64
    /// Kafka offsets, kept sorted by (topic, partition) so encoding is deterministic.
    public private(set) var offsets: [PartitionOffset]

    public init(eventsConsumed: Int64 = 0, offsets: [PartitionOffset] = []) {
        self.eventsConsumed = eventsConsumed
        self.offsets = offsets.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    public func offset(topic: String, partition: Int32) -> Int64? {
        offsets.first { $0.topic == topic && $0.partition == partition }?.offset
    }

    public mutating func setOffset(_ offset: Int64, topic: String, partition: Int32) {
        if let i = offsets.firstIndex(where: { $0.topic == topic && $0.partition == partition }) {
            offsets[i].offset = offset
        } else {
            offsets.append(.init(topic: topic, partition: partition, offset: offset))
            offsets.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        }
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
        var offsets = [PartitionOffset]()
        for _ in 0..<n {
            offsets.append(.init(topic: try r.readString("topic", maxBytes: 1024),
                                 partition: try r.read(Int32.self, "partition"),
                                 offset: try r.read(Int64.self, "offset")))
        }
        return SourcePosition(eventsConsumed: events, offsets: offsets)
    }
}
