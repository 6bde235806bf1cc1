/// The record a learner writes to the model-sync topic at start, before any batch: "this id publishes
/// here, and its last published sequence is N" (key = learner id, like its batches).
///
/// Layout: magic "SRAN", version u8, sequence u64, CRC-32C of the preceding bytes.
public struct SyncAnnouncement: Sendable, Equatable {
    public static let magic: [UInt8] = Array("SRAN".utf8)
    public static let version: UInt8 = 1
    public static let encodedBytes = 4 + 1 + 8 + 4

    public var sequence: UInt64

    public init(sequence: UInt64) { self.sequence = sequence }

    public static func isAnnouncement(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(reservingCapacity: Self.encodedBytes)
        for m in Self.magic { w.write(m) }
        w.write(Self.version)
        w.write(sequence)
        var bytes = w.bytes
        withUnsafeBytes(of: CRC32C.checksum(bytes).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    public init(decoding bytes: [UInt8]) throws(SyncRejection) {
        guard bytes.count == Self.encodedBytes, bytes.starts(with: Self.magic), bytes[4] == Self.version else {
            throw .undecodable
        }
        let body = bytes.count - 4
        let stored = bytes[body...].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard stored == CRC32C.checksum(Array(bytes[..<body])) else { throw .undecodable }
        sequence = bytes[5..<13].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
