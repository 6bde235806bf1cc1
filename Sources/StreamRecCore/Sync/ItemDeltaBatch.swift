/// One learner's item-state changes since its previous publication: what goes on the model-sync topic.
///
/// Rows are keyed by **external item id**, because every learner interns ids into its own slots. Values are
/// deltas (current − the publisher's view of the shared state), so replicas merge by adding them, as a
/// parameter server would (see ``ItemSyncReplica``). An item the publisher created since its previous
/// batch also carries its initial row (`base*`): the first such row in topic order becomes every
/// replica's base for that item, so replicas that each drew a different random init still converge.
///
/// Columnar (one flat array per field) so building and applying a batch touch contiguous memory.
public struct ItemDeltaBatch: Sendable, Equatable {
    /// Which learner published it and its publication counter (the topic's order is the merge order).
    public var publisher: UInt32
    public var sequence: UInt64
    /// Factor dimension k, and whether rows carry sequence-context vectors (``ModelConfig/sequenceContext`` > 0).
    public var dimension: Int
    public var hasContext: Bool
    /// Events the publisher learned since its previous batch (for sync bytes per event).
    public var events: Int64 = 0
    /// Changes of the two learned blend weights (neighbour, recent popularity).
    public var neighborBlendDelta: Float = 0
    public var popularityBlendDelta: Float = 0

    public var ids: [String] = []
    /// ids.count × dimension each (context: empty unless `hasContext`).
    public var factorDeltas: [Float] = []
    public var contextDeltas: [Float] = []
    public var biasDeltas: [Float] = []
    /// Interaction weight added, in decayed units at the publisher's clock.
    public var popularityDeltas: [Float] = []
    /// Event time of the item's latest interaction at the publisher.
    public var lastSeen: [Int64] = []

    /// Rows (positions in `ids`, ascending) of items new at the publisher, and their initial rows.
    public var newRows: [UInt32] = []
    public var baseFactors: [Float] = []
    public var baseContext: [Float] = []
    public var baseBias: [Float] = []

    /// Every row in order, with a new item's index into `baseFactors`/`baseContext`/`baseBias` (nil for
    /// the others): the one walk of `newRows` beside `ids` that applying and splitting share.
    public var rows: Rows { Rows(count: count, newRows: newRows) }

    public struct Rows: Sequence, IteratorProtocol {
        let count: Int
        let newRows: [UInt32]
        var row = 0
        var nextNew = 0

        public mutating func next() -> (row: Int, newIndex: Int?)? {
            guard row < count else { return nil }
            defer { row += 1 }
            guard nextNew < newRows.count && Int(newRows[nextNew]) == row else { return (row, nil) }
            nextNew += 1
            return (row, nextNew - 1)
        }
    }

    /// Optional co-occurrence ops (``ScaleOutOptions/shareNeighbors``): per learned event, the item and the
    /// user's previous items it was paired with, as `[item, n, previous₁ … previousₙ]` indices into
    /// `pairIds`. Receivers replay the same pair additions into their own neighbour tables.
    public var pairIds: [String] = []
    public var pairOps: [UInt32] = []

    public init(publisher: UInt32, sequence: UInt64, dimension: Int, hasContext: Bool) {
        self.publisher = publisher
        self.sequence = sequence
        self.dimension = dimension
        self.hasContext = hasContext
    }

    public var count: Int { ids.count }
    public var isEmpty: Bool { ids.isEmpty && pairOps.isEmpty && neighborBlendDelta == 0 && popularityBlendDelta == 0 }
}

/// Binary codec of ``ItemDeltaBatch``: little-endian, columnar, CRC-32C trailer. Sizes are capped and
/// checked before anything is allocated, because sync records come from the network.
///
/// Layout: magic "SRIS", version u8, flags u8 (bit 0 context), dimension u16, publisher u32, sequence u64,
/// events i64, rows u32, new rows u32, blend deltas 2 × f32; ids (u16 length + UTF-8 each); factor
/// deltas, context deltas, bias deltas, popularity deltas, last-seen (i64), new-row positions (u32), base
/// factors, base context, base bias; pair ids u32 count + (u16 length + UTF-8 each), pair ops u32 count +
/// u32 each; CRC-32C of all preceding bytes.
public enum ItemDeltaCodec {
    public static let magic: [UInt8] = Array("SRIS".utf8)
    public static let version: UInt8 = 1
    /// Caps: rows per batch, id bytes (the event decoder's default cap is 256), factor dimension.
    public static let maxRows = 1 << 22
    public static let maxIdBytes = 1024
    public static let maxDimension = 1024

    public struct DecodingError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func encode(_ b: ItemDeltaBatch) -> [UInt8] {
        precondition(b.count <= maxRows && b.dimension <= maxDimension, "batch exceeds the codec's caps")
        let n = b.count
        let k = b.dimension
        let nn = b.newRows.count
        let rowBytes = 4 * k * (b.hasContext ? 2 : 1) + 4 + 4 + 8
        var w = BinaryWriter(reservingCapacity: 48 + n * (rowBytes + 12) + nn * (rowBytes + 4))
        for m in magic { w.write(m) }
        w.write(version)
        w.write(UInt8(b.hasContext ? 1 : 0))
        w.write(UInt16(k))
        w.write(b.publisher)
        w.write(b.sequence)
        w.write(b.events)
        w.write(UInt32(n))
        w.write(UInt32(nn))
        w.write(b.neighborBlendDelta)
        w.write(b.popularityBlendDelta)
        var raw = w.bytes
        for id in b.ids {
            let utf8 = id.utf8
            precondition(utf8.count <= maxIdBytes, "item id exceeds \(maxIdBytes) bytes")
            withUnsafeBytes(of: UInt16(utf8.count).littleEndian) { raw.append(contentsOf: $0) }
            raw.append(contentsOf: utf8)
        }
        func put<T: BitwiseCopyable>(_ a: [T]) { a.withUnsafeBytes { raw.append(contentsOf: $0) } }
        put(b.factorDeltas)
        if b.hasContext { put(b.contextDeltas) }
        put(b.biasDeltas)
        put(b.popularityDeltas)
        put(b.lastSeen.map { $0.littleEndian })
        put(b.newRows.map { $0.littleEndian })
        put(b.baseFactors)
        if b.hasContext { put(b.baseContext) }
        put(b.baseBias)
        withUnsafeBytes(of: UInt32(b.pairIds.count).littleEndian) { raw.append(contentsOf: $0) }
        for id in b.pairIds {
            let utf8 = id.utf8
            precondition(utf8.count <= maxIdBytes, "item id exceeds \(maxIdBytes) bytes")
            withUnsafeBytes(of: UInt16(utf8.count).littleEndian) { raw.append(contentsOf: $0) }
            raw.append(contentsOf: utf8)
        }
        withUnsafeBytes(of: UInt32(b.pairOps.count).littleEndian) { raw.append(contentsOf: $0) }
        put(b.pairOps.map { $0.littleEndian })
        let crc = CRC32C.checksum(raw)
        withUnsafeBytes(of: crc.littleEndian) { raw.append(contentsOf: $0) }
        return raw
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> ItemDeltaBatch {
        guard bytes.count >= 4 + 40 + 4 else {
            throw DecodingError(description: "sync batch too short (\(bytes.count) bytes)")
        }
        let body = bytes.count - 4
        let stored =
            UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16
            | UInt32(bytes[body + 3]) << 24
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == computed else { throw DecodingError(description: "sync batch checksum mismatch") }
        var r = BinaryReader(Array(bytes[0..<body]))
        do {
            for m in magic {
                guard try r.read(UInt8.self, "magic") == m else {
                    throw DecodingError(description: "not a sync batch (bad magic)")
                }
            }
            let v = try r.read(UInt8.self, "version")
            guard v == version else { throw DecodingError(description: "unsupported sync batch version \(v)") }
            let flags = try r.read(UInt8.self, "flags")
            let k = Int(try r.read(UInt16.self, "dimension"))
            guard k >= 1 && k <= maxDimension else { throw DecodingError(description: "dimension \(k) out of range") }
            var b = ItemDeltaBatch(
                publisher: try r.read(UInt32.self, "publisher"),
                sequence: try r.read(UInt64.self, "sequence"),
                dimension: k,
                hasContext: flags & 1 != 0
            )
            b.events = try r.read(Int64.self, "events")
            let n = Int(try r.read(UInt32.self, "rows"))
            let nn = Int(try r.read(UInt32.self, "new rows"))
            guard n <= maxRows, nn <= n else { throw DecodingError(description: "row counts \(n)/\(nn) out of range") }
            b.neighborBlendDelta = try r.readFloat("neighbour blend delta")
            b.popularityBlendDelta = try r.readFloat("popularity blend delta")
            // Every row costs at least its id length, deltas and last-seen: reject impossible counts early.
            let c = b.hasContext ? 2 : 1
            guard n * (2 + 4 * k * c + 16) + nn * (4 + 4 * k * c + 4) <= r.remaining else {
                throw DecodingError(description: "sync batch shorter than its \(n) rows")
            }
            b.ids.reserveCapacity(n)
            for _ in 0..<n {
                let len = Int(try r.read(UInt16.self, "id length"))
                guard len <= maxIdBytes else {
                    throw DecodingError(description: "item id of \(len) bytes exceeds the cap")
                }
                b.ids.append(try readUTF8(&r, len))
            }
            b.factorDeltas = try readRaw(&r, Float.self, n * k, "factor deltas")
            if b.hasContext { b.contextDeltas = try readRaw(&r, Float.self, n * k, "context deltas") }
            b.biasDeltas = try readRaw(&r, Float.self, n, "bias deltas")
            b.popularityDeltas = try readRaw(&r, Float.self, n, "popularity deltas")
            b.lastSeen = try readRaw(&r, Int64.self, n, "last seen").map { Int64(littleEndian: $0) }
            b.newRows = try readRaw(&r, UInt32.self, nn, "new rows").map { UInt32(littleEndian: $0) }
            guard zip(b.newRows, b.newRows.dropFirst()).allSatisfy({ $0 < $1 }), b.newRows.allSatisfy({ Int($0) < n })
            else {
                throw DecodingError(description: "new-row positions out of order or range")
            }
            b.baseFactors = try readRaw(&r, Float.self, nn * k, "base factors")
            if b.hasContext { b.baseContext = try readRaw(&r, Float.self, nn * k, "base context") }
            b.baseBias = try readRaw(&r, Float.self, nn, "base bias")
            let np = Int(try r.read(UInt32.self, "pair ids"))
            guard np <= maxRows, np * 2 <= r.remaining else {
                throw DecodingError(description: "pair id count \(np) out of range")
            }
            for _ in 0..<np {
                let len = Int(try r.read(UInt16.self, "pair id length"))
                guard len <= maxIdBytes else {
                    throw DecodingError(description: "item id of \(len) bytes exceeds the cap")
                }
                b.pairIds.append(try readUTF8(&r, len))
            }
            let no = Int(try r.read(UInt32.self, "pair ops"))
            guard no <= r.remaining / 4 else {
                throw DecodingError(description: "pair op count \(no) exceeds the batch")
            }
            b.pairOps = try readRaw(&r, UInt32.self, no, "pair ops").map { UInt32(littleEndian: $0) }
            guard r.remaining == 0 else {
                throw DecodingError(description: "\(r.remaining) trailing bytes in sync batch")
            }
            return b
        } catch let e as DecodingError {
            throw e
        } catch {
            throw DecodingError(description: "\(error)")
        }
    }

    private static func readUTF8(_ r: inout BinaryReader, _ n: Int) throws(BinaryReader.Failure) -> String {
        let range = try r.take(n, "item id")
        return String(decoding: r.bytes[range], as: UTF8.self)
    }

    private static func readRaw<T: BitwiseCopyable>(
        _ r: inout BinaryReader,
        _: T.Type,
        _ n: Int,
        _ what: String
    )
        throws(BinaryReader.Failure) -> [T]
    {
        let range = try r.take(n * MemoryLayout<T>.stride, what)
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            r.bytes.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[range]))
            }
            count = n
        }
    }
}
