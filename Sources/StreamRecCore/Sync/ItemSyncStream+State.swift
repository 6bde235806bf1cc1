/// The persistent part of an ``ItemSyncStream``, stored in a snapshot beside the learner it belongs to.
///
/// Layout: magic "SRSS", version u8, sequence u64, read position i64; publishers u32 count + (u16 length +
/// UTF-8 id, u64 last applied) each; awaiting items u32 count + (u16 length + UTF-8 id) each; pending
/// batches u32 count + (u32 length + ``ItemDeltaCodec`` bytes) each; CRC-32C of all preceding bytes.
/// Counts and lengths are checked against the caps and the remaining bytes before anything is allocated.
extension ItemSyncStream {
    public static let stateMagic: [UInt8] = Array("SRSS".utf8)
    public static let stateVersion: UInt8 = 1
    public static let maxStateBytes = 1 << 30

    public struct StateError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// `learner`: the learner as captured together with this state (to name the awaiting items).
    public func encodeState(learner: OnlineLearner) -> [UInt8] {
        var w = BinaryWriter(reservingCapacity: 64 + pending.count * 4096)
        for m in Self.stateMagic { w.write(m) }
        w.write(Self.stateVersion)
        w.write(sequence)
        w.write(readPosition)
        var raw = w.bytes
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { raw.append(contentsOf: $0) } }
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { raw.append(contentsOf: $0) } }
        func id(_ s: String) {
            let utf8 = Array(s.utf8)
            precondition(utf8.count <= ItemDeltaCodec.maxIdBytes, "id exceeds \(ItemDeltaCodec.maxIdBytes) bytes")
            u16(utf8.count)
            raw.append(contentsOf: utf8)
        }
        u32(lastApplied.count)
        for (publisher, seq) in lastApplied.sorted(by: { $0.key < $1.key }) {
            id(publisher)
            withUnsafeBytes(of: seq.littleEndian) { raw.append(contentsOf: $0) }
        }
        let awaiting = awaitingIDs(in: learner)
        u32(awaiting.count)
        for a in awaiting { id(a) }
        u32(pending.count)
        for b in pending {
            let bytes = ItemDeltaCodec.encode(b)
            u32(bytes.count)
            raw.append(contentsOf: bytes)
        }
        let crc = CRC32C.checksum(raw)
        withUnsafeBytes(of: crc.littleEndian) { raw.append(contentsOf: $0) }
        precondition(raw.count <= Self.maxStateBytes, "item-sync state exceeds \(Self.maxStateBytes) bytes")
        return raw
    }

    /// Decodes ``encodeState(learner:)``'s bytes; call ``rebase(on:)`` with the restored learner next.
    public init(decoding bytes: [UInt8]) throws(StateError) {
        self.init()
        guard bytes.count >= 4 + 1 + 16 + 12 + 4, bytes.count <= Self.maxStateBytes else {
            throw StateError(description: "item-sync state of \(bytes.count) bytes out of range")
        }
        let body = bytes.count - 4
        let stored =
            UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16 | UInt32(bytes[body + 3])
            << 24
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == computed else { throw StateError(description: "item-sync state checksum mismatch") }
        var r = BinaryReader(Array(bytes[0..<body]))
        do {
            for m in Self.stateMagic {
                guard try r.read(UInt8.self, "magic") == m else {
                    throw StateError(description: "not an item-sync state (bad magic)")
                }
            }
            let v = try r.read(UInt8.self, "version")
            guard v == Self.stateVersion else {
                throw StateError(description: "unsupported item-sync state version \(v)")
            }
            sequence = try r.read(UInt64.self, "sequence")
            readPosition = try r.read(Int64.self, "read position")
            func id(_ what: String) throws -> String {
                let len = Int(try r.read(UInt16.self, "\(what) length"))
                guard len <= ItemDeltaCodec.maxIdBytes else {
                    throw StateError(description: "\(what) of \(len) bytes exceeds the cap")
                }
                let range = try r.take(len, what)
                return String(decoding: r.bytes[range], as: UTF8.self)
            }
            let publishers = Int(try r.read(UInt32.self, "publishers"))
            guard publishers <= Self.maxPublishers, publishers * 10 <= r.remaining else {
                throw StateError(description: "publisher count \(publishers) out of range")
            }
            for _ in 0..<publishers {
                let p = try id("publisher id")
                lastApplied[p] = try r.read(UInt64.self, "last applied")
            }
            let awaiting = Int(try r.read(UInt32.self, "awaiting items"))
            guard awaiting <= ItemDeltaCodec.maxRows, awaiting * 2 <= r.remaining else {
                throw StateError(description: "awaiting item count \(awaiting) out of range")
            }
            for _ in 0..<awaiting { restoredAwaiting.insert(try id("item id")) }
            let batches = Int(try r.read(UInt32.self, "pending batches"))
            guard batches <= Self.maxPending, batches * 4 <= r.remaining else {
                throw StateError(description: "pending batch count \(batches) out of range")
            }
            for _ in 0..<batches {
                let len = Int(try r.read(UInt32.self, "batch length"))
                let range = try r.take(len, "pending batch")
                pending.append(try ItemDeltaCodec.decode(Array(r.bytes[range])))
            }
            guard r.remaining == 0 else {
                throw StateError(description: "\(r.remaining) trailing bytes in item-sync state")
            }
        } catch let e as StateError {
            throw e
        } catch {
            throw StateError(description: "item-sync state: \(error)")
        }
    }
}

extension ItemSyncStream {
    /// The publication sequence an encoded state covers (its pending batches go up to it), without
    /// decoding the rest; nil if `bytes` is not a state.
    public static func sequence(ofState bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= 13, Array(bytes[0..<4]) == stateMagic, bytes[4] == stateVersion else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[5 + i]) << (8 * UInt64(i)) }
        return v
    }
}
