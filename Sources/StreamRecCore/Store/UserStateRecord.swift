/// One user's whole learner state, by external ids, as bytes that can leave the process: what the serve
/// side writes to the compacted user-state changelog so a partition's new owner can
/// continue that user exactly where the old owner stopped.
///
/// Per-user state lives in three places of ``OnlineLearner`` and all of it is here: the user's factor row
/// (``MatrixFactorizationModel/userFactors``), the ``UserHistoryStore`` entries (history ring with event
/// times, seen-set in first-consumed order, event count, first/last-seen — last-seen drives user TTL and
/// factor decay). The RNG, item rows and popularity are shared model state, not the user's.
///
/// Layout (little-endian): magic "SRUS", version u8, config fingerprint u64, user id (u16 length + UTF-8),
/// dimension u16, factors f32 × dimension, event count u32, first seen i64, last seen i64, history count
/// u32 then (item id, time i64) oldest first, seen count u32 then item ids oldest first, CRC-32C of all
/// preceding bytes. Decoding checks the checksum first and every count against the bytes left before
/// allocating (changelog bytes are network input).
public struct UserStateRecord: Sendable, Equatable {
    public static let magic: [UInt8] = Array("SRUS".utf8)
    public static let version: UInt8 = 1
    /// Largest encoded record: below Kafka's default `message.max.bytes` (1 MiB) with room for the key.
    /// ``OnlineLearner/exportUser(_:)`` drops the oldest seen items of a user that would exceed it.
    public static let maxBytes = 900 * 1024
    public static let maxIdBytes = Int(UInt16.max)
    public static let maxDimension = 4096

    public var user: String
    /// ``ModelConfig/fingerprint`` of the learner that wrote it: import refuses another model's state.
    public var configFingerprint: UInt64
    public var factors: [Float]
    public var eventCount: UInt32
    public var firstSeen: Int64
    public var lastSeen: Int64
    /// Recent events, oldest first (at most the history length).
    public var history: [Entry]
    /// Consumed items in first-consumed order (the oldest is forgotten first).
    public var seen: [String]

    public struct Entry: Sendable, Equatable {
        public var item: String
        public var timestamp: Int64
        public init(item: String, timestamp: Int64) {
            self.item = item
            self.timestamp = timestamp
        }
    }

    public init(
        user: String,
        configFingerprint: UInt64,
        factors: [Float],
        eventCount: UInt32,
        firstSeen: Int64,
        lastSeen: Int64,
        history: [Entry],
        seen: [String]
    ) {
        self.user = user
        self.configFingerprint = configFingerprint
        self.factors = factors
        self.eventCount = eventCount
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.history = history
        self.seen = seen
    }

    public struct DecodingError: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
        init(_ description: String) { self.description = "user state record: " + description }
    }

    /// Encoded size without building the bytes (export trims to ``maxBytes`` with it).
    public var encodedSize: Int {
        4 + 1 + 8 + 2 + user.utf8.count + 2 + 4 * factors.count + 4 + 8 + 8 + 4
            + history.reduce(0) { $0 + 2 + $1.item.utf8.count + 8 } + 4 + seen.reduce(0) { $0 + 2 + $1.utf8.count } + 4
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(reservingCapacity: encodedSize)
        for m in Self.magic { w.write(m) }
        w.write(Self.version)
        w.write(configFingerprint)
        Self.writeId(user, &w)
        w.write(UInt16(factors.count))
        for f in factors { w.write(f) }
        w.write(eventCount)
        w.write(firstSeen)
        w.write(lastSeen)
        w.write(UInt32(history.count))
        for e in history {
            Self.writeId(e.item, &w)
            w.write(e.timestamp)
        }
        w.write(UInt32(seen.count))
        for s in seen { Self.writeId(s, &w) }
        var bytes = w.bytes
        let crc = CRC32C.checksum(bytes)
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        guard bytes.count <= Self.maxBytes else {
            throw DecodingError("\(bytes.count) bytes exceed the cap of \(Self.maxBytes)")
        }
        guard bytes.count >= 4 + 1 + 8 + 2 + 2 + 28 + 4 else { throw DecodingError("truncated (\(bytes.count) bytes)") }
        let body = bytes.count - 4
        let stored =
            UInt32(bytes[body]) | UInt32(bytes[body + 1]) << 8 | UInt32(bytes[body + 2]) << 16 | UInt32(bytes[body + 3])
            << 24
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard Array(bytes[0..<4]) == Self.magic else { throw DecodingError("bad magic (not a user state record)") }
        guard stored == computed else { throw DecodingError("checksum mismatch (corrupt or truncated)") }
        var r = BinaryReader(Array(bytes[0..<body]), position: 4)
        do {
            let v = try r.read(UInt8.self, "version")
            guard v == Self.version else { throw DecodingError("unsupported version \(v)") }
            configFingerprint = try r.read(UInt64.self, "fingerprint")
            user = try Self.readId(&r, "user id")
            guard !user.isEmpty else { throw DecodingError("empty user id") }
            let k = Int(try r.read(UInt16.self, "dimension"))
            guard k >= 1, k <= Self.maxDimension, k * 4 <= r.remaining else {
                throw DecodingError("dimension \(k) out of range")
            }
            factors = (0..<k).map { _ in 0 }
            for c in 0..<k { factors[c] = try r.readFloat("factor") }
            guard factors.allSatisfy(\.isFinite) else { throw DecodingError("non-finite factor") }
            eventCount = try r.read(UInt32.self, "event count")
            firstSeen = try r.read(Int64.self, "first seen")
            lastSeen = try r.read(Int64.self, "last seen")
            let h = Int(try r.read(UInt32.self, "history count"))
            guard h <= r.remaining / 10 else { throw DecodingError("history count \(h) exceeds the bytes left") }
            history = []
            history.reserveCapacity(h)
            for _ in 0..<h {
                let item = try Self.readId(&r, "history item")
                history.append(Entry(item: item, timestamp: try r.read(Int64.self, "history time")))
            }
            let s = Int(try r.read(UInt32.self, "seen count"))
            guard s <= r.remaining / 2 else { throw DecodingError("seen count \(s) exceeds the bytes left") }
            seen = []
            seen.reserveCapacity(s)
            for _ in 0..<s { seen.append(try Self.readId(&r, "seen item")) }
            guard r.remaining == 0 else { throw DecodingError("\(r.remaining) trailing bytes") }
            guard history.allSatisfy({ !$0.item.isEmpty }), seen.allSatisfy({ !$0.isEmpty }) else {
                throw DecodingError("empty item id")
            }
        } catch let error as BinaryReader.Failure {
            throw DecodingError(error.description)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError("\(error)")
        }
    }

    private static func writeId(_ id: String, _ w: inout BinaryWriter) {
        let utf8 = Array(id.utf8.prefix(maxIdBytes))
        w.write(UInt16(utf8.count))
        for b in utf8 { w.write(b) }
    }

    private static func readId(_ r: inout BinaryReader, _ what: String) throws(BinaryReader.Failure) -> String {
        let n = Int(try r.read(UInt16.self, what))
        guard n <= r.remaining else {
            throw BinaryReader.Failure(description: "\(what): \(n) bytes exceed the \(r.remaining) left")
        }
        let range = try r.take(n, what)
        return String(decoding: r.bytes[range], as: UTF8.self)
    }
}

/// Why a user's state could not be imported.
public struct UserStateImportError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
