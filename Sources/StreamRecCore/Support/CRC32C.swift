/// CRC-32C (Castagnoli), slicing-by-8. Guards snapshot files against truncation and bit rot.
public struct CRC32C: Sendable {
    public private(set) var value: UInt32 = 0xFFFF_FFFF

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        var p = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
        var n = bytes.count
        guard var ptr = p else { return }
        let t = CRC32C.tables
        while n >= 8 {
            let lo = UInt32(ptr[0]) | UInt32(ptr[1]) << 8 | UInt32(ptr[2]) << 16 | UInt32(ptr[3]) << 24
            let hi = UInt32(ptr[4]) | UInt32(ptr[5]) << 8 | UInt32(ptr[6]) << 16 | UInt32(ptr[7]) << 24
            let x = crc ^ lo
            crc =
                t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int(x >> 24)]
                ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
            ptr += 8
            n -= 8
        }
        while n > 0 {
            crc = t[Int((crc ^ UInt32(ptr[0])) & 0xFF)] ^ (crc >> 8)
            ptr += 1
            n -= 1
        }
        p = ptr
        value = crc
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public var checksum: UInt32 { value ^ 0xFFFF_FFFF }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = CRC32C()
        c.update(bytes)
        return c.checksum
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    static let tables: [UInt32] = {
        let poly: UInt32 = 0x82F6_3B78
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for s in 1..<8 { t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[Int(t[(s - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()
}

/// FNV-1a 64-bit: a stable hash for config fingerprints (Swift's `Hasher` is randomly seeded per process).
public enum StableHash {
    public static let fnvOffsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325

    /// FNV-1a of `bytes`; pass a previous result as `continuing` to hash several pieces without
    /// concatenating them (no allocation).
    @inlinable
    public static func fnv1a64(_ bytes: some Sequence<UInt8>, continuing hash: UInt64 = fnvOffsetBasis) -> UInt64 {
        var h = hash
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    public static func fnv1a64(_ string: String) -> UInt64 { fnv1a64(string.utf8) }
}
