/// HMAC-SHA256 (RFC 2104 / RFC 4231) over ``SHA256``: the tag that authenticates records on the shared
/// topics (``RecordSeal``). The key's inner and outer pads are computed once per key.
public struct HMACSHA256: Sendable {
    public static let tagBytes = SHA256.digestBytes
    private let innerPad: [UInt8]
    private let outerPad: [UInt8]

    public init(key: [UInt8]) {
        var k = key.count > SHA256.blockBytes ? SHA256.hash(key) : key
        k += [UInt8](repeating: 0, count: SHA256.blockBytes - k.count)
        innerPad = k.map { $0 ^ 0x36 }
        outerPad = k.map { $0 ^ 0x5c }
    }

    /// The tag of the concatenation of `parts` (no copy of the message is made).
    public func tag(_ parts: [UInt8]...) -> [UInt8] { tag(parts: parts) }

    public func tag(parts: [[UInt8]]) -> [UInt8] {
        var inner = SHA256()
        inner.update(innerPad)
        for p in parts { inner.update(p) }
        var outer = SHA256()
        outer.update(outerPad)
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// Compares two tags without an early exit (no timing hint of how many leading bytes matched).
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
