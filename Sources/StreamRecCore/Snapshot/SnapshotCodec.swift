import Foundation

/// Why a snapshot could not be read or written.
public struct SnapshotError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case notASnapshot
        case unsupportedVersion(UInt32)
        case truncated
        case checksumMismatch(stored: UInt32, computed: UInt32)
        case corrupt(String)
        case configMismatch(snapshot: UInt64, current: UInt64)
        case io(String)
    }

    public var kind: Kind
    public var path: String?

    public init(_ kind: Kind, path: String? = nil) {
        self.kind = kind
        self.path = path
    }

    public var description: String {
        let what: String
        switch kind {
        case .notASnapshot: what = "not a streamrec snapshot (bad magic)"
        case .unsupportedVersion(let v): what = "unsupported snapshot format version \(v)"
        case .truncated: what = "snapshot is truncated"
        case .checksumMismatch(let s, let c):
            what =
                "checksum mismatch (stored \(String(s, radix: 16)), computed \(String(c, radix: 16))): file is corrupt"
        case .corrupt(let detail): what = "snapshot is corrupt: \(detail)"
        case .configMismatch(let s, let c):
            what = "snapshot was trained with config \(String(s, radix: 16)), current config is \(String(c, radix: 16))"
        case .io(let detail): what = detail
        }
        return path.map { "\($0): \(what)" } ?? what
    }
}

/// A decoded snapshot: the learner plus where its input stood.
public struct LearnerSnapshot: Sendable, Equatable {
    public var learner: OnlineLearner
    public var position: SourcePosition
    /// Milliseconds since epoch when the snapshot was taken (informational; not part of model state).
    public var createdAt: Int64
    /// State of the snapshot's producer that must resume with the model (e.g. a replay's running
    /// metrics), keyed by owner; opaque to the core.
    public var extensions: [String: [UInt8]]

    public init(learner: OnlineLearner, position: SourcePosition, createdAt: Int64, extensions: [String: [UInt8]] = [:])
    {
        self.learner = learner
        self.position = position
        self.createdAt = createdAt
        self.extensions = extensions
    }
}

/// Summary of a snapshot file, readable without trusting its body (for `snapshot inspect`).
public struct SnapshotInfo: Sendable {
    public var formatVersion: UInt32
    public var byteSize: Int
    public var storedChecksum: UInt32
    public var computedChecksum: UInt32
    public var checksumValid: Bool { storedChecksum == computedChecksum }
    public var configJSON: String?
    public var configFingerprint: UInt64?
    public var createdAt: Int64?
    public var counters: LearnerCounters?
    public var users: Int?
    public var items: Int?
    public var position: SourcePosition?
}

/// Binary snapshot format, version 3 (versions 1 and 2, which lack the beyond-MF model state and the
/// item-neighbour blend respectively, still load; the missing state starts empty):
///
///     "SRSNAP\0\1"  u32 version  u64 payload-length  payload  u32 crc32c(all preceding bytes)  "SRSNEND\0"
///
/// The payload holds config JSON + fingerprint, creation time, counters, both id dictionaries, the user
/// store, the model (factors, biases, popularity, RNG; since version 2 also context vectors, the event clock,
/// the popularity epoch and item last-seen times; since version 3 the item-neighbour table and blend
/// weights) and the source position. Integers and floats are
/// little-endian; floats are stored bit-exactly so a round trip is bit-identical.
public enum SnapshotCodec {
    public static let formatVersion: UInt32 = 3
    /// Extension holding the persistent state of the model's ``ItemIndex``.
    static let itemIndexExtensionKey = "ranking.item-index"
    /// Oldest format version this build still reads.
    public static let oldestReadableVersion: UInt32 = 1
    static let magic: [UInt8] = Array("SRSNAP".utf8) + [0, 1]
    static let endMagic: [UInt8] = Array("SRSNEND".utf8) + [0]
    static let headerSize = 8 + 4 + 8
    static let trailerSize = 4 + 8

    /// The whole file: ``encodedParts(_:)`` joined.
    public static func encode(_ snapshot: LearnerSnapshot) -> [UInt8] {
        let parts = encodedParts(snapshot)
        return parts.head + parts.payload + parts.tail
    }

    /// The file as three pieces — header (magic, version, payload length), payload, trailer (CRC32C of
    /// header and payload, end magic) — so a writer can stream them without first joining them: at 1M
    /// items the payload is ~700 MB, and joining it cost a second buffer of that size and its page faults.
    public static func encodedParts(_ snapshot: LearnerSnapshot) -> (head: [UInt8], payload: [UInt8], tail: [UInt8]) {
        let learner = snapshot.learner
        var p = BinaryWriter(reservingCapacity: learner.allocatedBytes + 4096)
        p.write(learner.config.canonicalJSON)
        p.write(learner.config.fingerprint)
        p.write(snapshot.createdAt)
        p.write(String(decoding: (try? JSONEncoder.sorted.encode(learner.counters)) ?? Data(), as: UTF8.self))
        learner.users.encode(into: &p)
        learner.items.encode(into: &p)
        learner.store.encode(into: &p)
        learner.model.encode(into: &p)
        snapshot.position.encode(into: &p)
        // The approximate-ranking index (if any) rides as an extension: readers that don't know it skip it.
        var extensions = snapshot.extensions
        extensions[itemIndexExtensionKey] = learner.model.factors.encodedIndex()
        p.write(UInt32(extensions.count))
        for key in extensions.keys.sorted() {
            p.write(key)
            p.writeBytes(extensions[key]!)
        }

        var head = BinaryWriter(reservingCapacity: headerSize)
        for b in magic { head.write(b) }
        head.write(formatVersion)
        head.write(UInt64(p.bytes.count))
        var crc = CRC32C()
        crc.update(head.bytes)
        crc.update(p.bytes)
        var tail = BinaryWriter(reservingCapacity: trailerSize)
        tail.write(crc.checksum)
        for b in endMagic { tail.write(b) }
        return (head.bytes, p.bytes, tail.bytes)
    }

    /// Verifies framing and checksum and returns the payload range.
    static func verifiedPayload(_ bytes: [UInt8]) throws(SnapshotError) -> (version: UInt32, payload: Range<Int>) {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw SnapshotError(bytes.count < magic.count ? .truncated : .notASnapshot)
        }
        var r = BinaryReader(bytes, position: magic.count)
        guard let version = try? r.read(UInt32.self), let length = try? r.read(UInt64.self) else {
            throw SnapshotError(.truncated)
        }
        guard version >= oldestReadableVersion && version <= formatVersion else {
            throw SnapshotError(.unsupportedVersion(version))
        }
        guard length <= UInt64(bytes.count), bytes.count == headerSize + Int(length) + trailerSize else {
            throw SnapshotError(
                bytes.count < headerSize + Int(min(length, UInt64(Int.max / 2))) + trailerSize
                    ? .truncated : .corrupt("length field disagrees with file size")
            )
        }
        let payloadEnd = headerSize + Int(length)
        var t = BinaryReader(bytes, position: payloadEnd)
        let stored = (try? t.read(UInt32.self)) ?? 0
        guard Array(bytes[(payloadEnd + 4)...]) == endMagic else { throw SnapshotError(.truncated) }
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<payloadEnd])) }
        guard stored == computed else { throw SnapshotError(.checksumMismatch(stored: stored, computed: computed)) }
        return (version, headerSize..<payloadEnd)
    }

    /// Decodes and validates a snapshot. When `expectedConfig` is given, a snapshot trained with a
    /// different configuration is rejected rather than silently resumed.
    public static func decode(
        _ bytes: [UInt8],
        expectedConfig: ModelConfig? = nil
    ) throws(SnapshotError) -> LearnerSnapshot {
        let (version, range) = try verifiedPayload(bytes)
        do {
            var r = BinaryReader(Array(bytes[range]))
            let configJSON = try r.readString("config")
            let fingerprint = try r.read(UInt64.self, "fingerprint")
            guard let config = try? JSONDecoder().decode(ModelConfig.self, from: Data(configJSON.utf8)) else {
                throw SnapshotError(.corrupt("config JSON does not decode"))
            }
            if let expected = expectedConfig, expected.fingerprint != fingerprint {
                throw SnapshotError(.configMismatch(snapshot: fingerprint, current: expected.fingerprint))
            }
            do { try config.validate() } catch { throw SnapshotError(.corrupt(error.description)) }
            let createdAt = try r.read(Int64.self, "created at")
            let countersJSON = try r.readString("counters")
            guard let counters = try? JSONDecoder().decode(LearnerCounters.self, from: Data(countersJSON.utf8)) else {
                throw SnapshotError(.corrupt("counters do not decode"))
            }
            let users = try IdDictionary.decode(from: &r, what: "users")
            let items = try IdDictionary.decode(from: &r, what: "items")
            let store = try UserHistoryStore.decode(from: &r)
            var model = try MatrixFactorizationModel.decode(from: &r, config: config, formatVersion: version)
            let position = try SourcePosition.decode(from: &r)
            let extensionCount = try r.read(UInt32.self, "extension count")
            var extensions: [String: [UInt8]] = [:]
            for _ in 0..<extensionCount {
                let key = try r.readString("extension key", maxBytes: 256)
                extensions[key] = try r.readBytes("extension \(key)")
            }
            guard r.remaining == 0 else { throw SnapshotError(.corrupt("\(r.remaining) trailing payload bytes")) }
            if let index = extensions.removeValue(forKey: itemIndexExtensionKey) {
                try model.factors.restoreIndex(from: index)
            }
            guard users.slotCount == store.slotCount, users.slotCount == model.userCount,
                items.slotCount == model.itemCount
            else { throw SnapshotError(.corrupt("id maps, store and model disagree on sizes")) }
            let learner = OnlineLearner(
                config: config,
                users: users,
                items: items,
                store: store,
                model: model,
                counters: counters
            )
            return LearnerSnapshot(learner: learner, position: position, createdAt: createdAt, extensions: extensions)
        } catch let e as SnapshotError {
            throw e
        } catch let e as BinaryReader.Failure {
            throw SnapshotError(.corrupt(e.description))
        } catch {
            throw SnapshotError(.corrupt("\(error)"))
        }
    }

    /// Reads what can be read of a file for inspection, reporting the checksum status instead of failing.
    public static func inspect(_ bytes: [UInt8]) throws(SnapshotError) -> SnapshotInfo {
        guard bytes.count >= headerSize + trailerSize else { throw SnapshotError(.truncated) }
        guard Array(bytes[0..<magic.count]) == magic else { throw SnapshotError(.notASnapshot) }
        var h = BinaryReader(bytes, position: magic.count)
        let version = (try? h.read(UInt32.self)) ?? 0
        let payloadEnd = bytes.count - trailerSize
        var t = BinaryReader(bytes, position: payloadEnd)
        let stored = (try? t.read(UInt32.self)) ?? 0
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<payloadEnd])) }
        var info = SnapshotInfo(
            formatVersion: version,
            byteSize: bytes.count,
            storedChecksum: stored,
            computedChecksum: computed
        )
        if let snap = try? decode(bytes) {
            info.configJSON = snap.learner.config.canonicalJSON
            info.configFingerprint = snap.learner.config.fingerprint
            info.createdAt = snap.createdAt
            info.counters = snap.learner.counters
            info.users = snap.learner.users.count
            info.items = snap.learner.items.count
            info.position = snap.position
        }
        return info
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
