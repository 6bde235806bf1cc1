/// Optional authentication of the records learners write to their shared topics (model sync, user-state
/// changelog): `value = "SRMA" + HMAC-SHA256(key, domain ‖ u16 key length ‖ record key ‖ payload) + payload`.
/// The record key and a per-topic domain are covered, so a signed record can't be re-keyed as another
/// learner or user, nor moved from one topic to the other. A replay of a whole signed record at a later
/// offset is not detected here (the sync sequence numbers and the checkpoint checks handle that; broker
/// ACLs keep outsiders from writing at all).
///
/// Without a key, records are written unsealed (the format of learners without authentication); a reader
/// without a key strips a seal it finds without checking it (a group being switched over).
public struct RecordSeal: Sendable {
    public static let magic: [UInt8] = Array("SRMA".utf8)
    public static let overhead = 4 + HMACSHA256.tagBytes

    public enum Domain: String, Sendable {
        case sync = "streamrec.model-sync.v1"
        case changelog = "streamrec.user-state.v1"
    }

    public enum Failure: String, Error, Sendable, CustomStringConvertible {
        case unsigned
        case badSignature = "bad_signature"
        public var description: String { rawValue }
    }

    private let mac: HMACSHA256?
    private let domain: [UInt8]

    /// `key`: nil or empty = no authentication.
    public init(key: [UInt8]?, domain: Domain) {
        mac = key.flatMap { $0.isEmpty ? nil : HMACSHA256(key: $0) }
        self.domain = Array(domain.rawValue.utf8)
    }

    public var isEnabled: Bool { mac != nil }

    /// The value to write for `payload` under record key `key`.
    public func seal(_ payload: [UInt8], key: [UInt8]) -> [UInt8] {
        guard let mac else { return payload }
        var out = Self.magic
        out.reserveCapacity(Self.overhead + payload.count)
        out += mac.tag(parts: [domain, Self.lengthPrefix(key), key, payload])
        out += payload
        return out
    }

    /// The payload of a value read under record key `key`; throws when a key is set and the value is
    /// unsigned or its tag doesn't match.
    public func open(_ value: [UInt8], key: [UInt8]) throws(Failure) -> [UInt8] {
        let sealed = value.count >= Self.overhead && value.starts(with: Self.magic)
        guard let mac else { return sealed ? Array(value[Self.overhead...]) : value }
        guard sealed else { throw .unsigned }
        let payload = Array(value[Self.overhead...])
        let expected = mac.tag(parts: [domain, Self.lengthPrefix(key), key, payload])
        guard HMACSHA256.equal(expected, Array(value[4..<Self.overhead])) else { throw .badSignature }
        return payload
    }

    private static func lengthPrefix(_ key: [UInt8]) -> [UInt8] {
        [UInt8(truncatingIfNeeded: key.count), UInt8(truncatingIfNeeded: key.count >> 8)]
    }
}
