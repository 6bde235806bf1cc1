/// The key → partition functions of the Kafka producers whose events streamrec consumes, so a backtest
/// (`replay --learners N`) puts each user on the partition — and so the learner — a live deployment would.
///
/// - `crc32`: librdkafka's default `consistent_random`: CRC-32 (IEEE, zlib's) of the key mod the
///   partition count; a null key goes to a random partition.
/// - `murmur2`: the Java client's default (librdkafka `murmur2_random`): murmur2 (seed 0x9747b28c) of the
///   key, made positive by masking the sign bit, mod the partition count; a null key goes to a random
///   partition.
///
/// Both are checked against librdkafka's own `rd_kafka_msg_partitioner_consistent` / `_murmur2`
/// (StreamRecKafkaTests/PartitionerParityTests). "Random" for a missing key is the caller's business
/// (``partition(key:partitions:)`` returns nil): a simulation draws it from a seeded stream.
public enum KafkaPartitioner: String, Sendable, Codable, CaseIterable {
    case crc32
    case murmur2

    /// The partition of `key` among `partitions` (≥ 1), or nil for an empty key (librdkafka treats a
    /// zero-length key like a null key only in the `_random` variants, which are the defaults).
    public func partition(key: some Collection<UInt8>, partitions: Int) -> Int? {
        precondition(partitions >= 1, "partition count must be positive")
        guard !key.isEmpty else { return nil }
        switch self {
        case .crc32: return Int(Self.crc32(key) % UInt32(partitions))
        case .murmur2: return Int((Self.murmur2(key) & 0x7fff_ffff) % UInt32(partitions))
        }
    }

    public func partition(key: String, partitions: Int) -> Int? {
        partition(key: key.utf8, partitions: partitions)
    }

    // MARK: Hash functions

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32` and librdkafka's `rd_crc32`).
    public static func crc32(_ bytes: some Collection<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        crcTable.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }

    /// murmur2, 32-bit, as Kafka's Java `Utils.murmur2` and librdkafka's `rd_murmur2` (little-endian
    /// 4-byte blocks, seed 0x9747b28c).
    public static func murmur2(_ key: some Collection<UInt8>) -> UInt32 {
        // Native strings' UTF-8 is contiguous: no copy per event.
        if let h = key.withContiguousStorageIfAvailable({ murmur2(buffer: $0) }) { return h }
        return Array(key).withUnsafeBufferPointer { murmur2(buffer: $0) }
    }

    private static func murmur2(buffer data: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = data.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            let o = i * 4
            var k = UInt32(data[o]) | UInt32(data[o + 1]) << 8 | UInt32(data[o + 2]) << 16 | UInt32(data[o + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch length & 3 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default: break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
