/// The partition a keyed message lands on, as the events' producer picks it: librdkafka's default
/// partitioner (`consistent_random`) is CRC-32 (IEEE, zlib's) of the key modulo the partition count.
/// Kept in this one file so it can be swapped for Core's partitioner setting (issue 10 item 4, which
/// adds the Java client's murmur2 as well).
public struct KeyPartitioner: Sendable {
    public init() {}

    /// The partition of `key` in a topic of `partitions` partitions (> 0).
    public func partition(of key: some Sequence<UInt8>, partitions: Int32) -> Int32 {
        precondition(partitions > 0, "a topic has at least one partition")
        return Int32(Self.crc32(key) % UInt32(partitions))
    }

    /// CRC-32 as in zlib / librdkafka's `rd_crc32` (reflected polynomial 0xEDB88320).
    public static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}
