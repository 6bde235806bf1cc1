import StreamRecCore
import StreamRecKafka

/// What the user-state changelog topic holds besides ``UserStateRecord``s (key = user id, value = the
/// record; an empty value = the user was removed): one **checkpoint** per input topic-partition, written
/// after that partition's user records of a durable snapshot, holding the next input offset the records
/// cover and the partition's running learned-event count.
///
/// Checkpoint keys start with byte 0xFF, which never occurs in UTF-8, so no user id (a Swift string,
/// always valid UTF-8; ids may even contain NUL through a JSON `\u0000` escape) can collide with one and
/// have compaction drop a checkpoint.
struct ChangelogCheckpoint: Equatable, Sendable {
    static let magic: [UInt8] = Array("SRCK".utf8)
    static let version: UInt8 = 1
    static let keyMarker: UInt8 = 0xFF

    var topicPartition: TopicPartition
    /// The next input offset: every event before it is in the user records before this checkpoint.
    var next: Int64
    /// Events of this partition learned since it was first consumed (exactly-once check).
    var learned: Int64

    static func key(_ tp: TopicPartition) -> [UInt8] {
        [keyMarker] + Array("cp:\(tp.partition):".utf8) + Array(tp.topic.utf8)
    }

    static func isCheckpointKey(_ key: [UInt8]?) -> Bool { key?.first == keyMarker }

    func encoded() -> [UInt8] {
        var w = BinaryWriter(reservingCapacity: 64)
        for m in Self.magic { w.write(m) }
        w.write(Self.version)
        w.write(topicPartition.topic)
        w.write(topicPartition.partition)
        w.write(next)
        w.write(learned)
        var bytes = w.bytes
        withUnsafeBytes(of: CRC32C.checksum(bytes).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    init(topicPartition: TopicPartition, next: Int64, learned: Int64) {
        self.topicPartition = topicPartition
        self.next = next
        self.learned = learned
    }

    init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= 9, bytes.count <= 1024, Array(bytes.prefix(4)) == Self.magic else {
            throw ChangelogError("not a changelog checkpoint (\(bytes.count) bytes)")
        }
        let body = bytes.count - 4
        let stored = bytes[body...].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard stored == CRC32C.checksum(Array(bytes[..<body])) else {
            throw ChangelogError("changelog checkpoint checksum mismatch")
        }
        var r = BinaryReader(Array(bytes[..<body]), position: 4)
        guard try r.read(UInt8.self, "version") == Self.version else {
            throw ChangelogError("unsupported checkpoint version")
        }
        let topic = try r.readString("topic", maxBytes: 249)
        topicPartition = TopicPartition(topic, try r.read(Int32.self, "partition"))
        next = try r.read(Int64.self, "next offset")
        learned = try r.read(Int64.self, "learned")
        guard r.remaining == 0, next >= 0, learned >= 0 else { throw ChangelogError("malformed changelog checkpoint") }
    }
}

/// The changelog's part of a snapshot (`extensions["changelog"]`), so a restarted learner knows, for the
/// offsets its snapshot holds: each partition's learned count, whose users it held, which users changed
/// without having reached the changelog yet (written at its next durable snapshot), and which partition
/// each user slot belongs to (users are dropped by partition on revocation).
struct ChangelogSnapshotSection: Equatable {
    static let key = "changelog"
    static let version: UInt8 = 1

    struct Partition: Equatable {
        var topicPartition: TopicPartition
        /// -1 = unknown.
        var learned: Int64 = -1
        var held = false
        var pending: [String] = []
    }

    var partitions: [Partition] = []
    /// Per user slot: index into `partitions`, -1 = none.
    var slotPartition: [Int32] = []

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.write(Self.version)
        w.write(UInt32(partitions.count))
        for p in partitions {
            w.write(p.topicPartition.topic)
            w.write(p.topicPartition.partition)
            w.write(p.learned)
            w.write(p.held)
            w.writeStrings(p.pending)
        }
        w.writeArray(slotPartition)
        return w.bytes
    }

    init() {}

    init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes)
        guard try r.read(UInt8.self, "version") == Self.version else {
            throw ChangelogError("unsupported changelog snapshot section")
        }
        let n = Int(try r.read(UInt32.self, "partitions"))
        guard n <= r.remaining / 16 else {
            throw ChangelogError("changelog snapshot section: \(n) partitions exceed its size")
        }
        for _ in 0..<n {
            let tp = TopicPartition(try r.readString("topic", maxBytes: 249), try r.read(Int32.self, "partition"))
            partitions.append(
                Partition(
                    topicPartition: tp,
                    learned: try r.read(Int64.self, "learned"),
                    held: try r.readBool("held"),
                    pending: try r.readStrings("pending users")
                )
            )
        }
        slotPartition = try r.readArray(Int32.self, "slot partitions")
        guard r.remaining == 0, slotPartition.allSatisfy({ $0 >= -1 && Int($0) < n }) else {
            throw ChangelogError("malformed changelog snapshot section")
        }
    }
}

struct ChangelogError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
