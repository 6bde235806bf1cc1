import Testing

@testable import StreamRecCore

/// SHA-256 and HMAC-SHA256 against published vectors, and the shared-topic record seal built on them.
@Suite("Record authentication: SHA-256, HMAC-SHA256 (RFC 4231), seal")
struct RecordSealTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPadded(2) }.joined() }
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test("SHA-256: FIPS 180-4 examples, padding boundaries")
    func sha256() {
        #expect(Self.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            Self.hex(SHA256.hash(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        #expect(
            Self.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
        #expect(
            Self.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        )
        // Incremental updates split anywhere give the one-shot digest.
        let message = (0..<200).map { UInt8($0) }
        for split in [0, 1, 55, 56, 63, 64, 65, 199] {
            var s = SHA256()
            s.update(message[..<split])
            s.update(message[split...])
            #expect(s.finalize() == SHA256.hash(message))
        }
    }

    @Test("HMAC-SHA256: RFC 4231 test cases 1–4, 6, 7 (and 5 truncated to 128 bits)")
    func rfc4231() {
        let cases: [(key: [UInt8], data: [UInt8], tag: String)] = [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                Self.bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"), [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array(
                    ("This is a test using a larger than block-size key and a larger than block-size data. "
                        + "The key needs to be hashed before being used by the HMAC algorithm.").utf8
                ),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ]
        for c in cases { #expect(Self.hex(HMACSHA256(key: c.key).tag(c.data)) == c.tag) }
        let truncated = HMACSHA256(key: [UInt8](repeating: 0x0c, count: 20)).tag(Array("Test With Truncation".utf8))
        #expect(Self.hex(Array(truncated.prefix(16))) == "a3b6167473100ee06e0c796c2955552b")
        // Parts are hashed as their concatenation.
        let mac = HMACSHA256(key: Array("k".utf8))
        #expect(mac.tag([1, 2], [3]) == mac.tag([1, 2, 3]))
    }

    @Test("Seal: round trip; unsigned, tampered, re-keyed and cross-topic records refused with a key")
    func seal() throws {
        let signer = RecordSeal(key: Array("s3cret".utf8), domain: .sync)
        let payload: [UInt8] = Array("SRIS payload".utf8)
        let sealed = signer.seal(payload, key: Array("A".utf8))
        #expect(sealed.count == payload.count + RecordSeal.overhead)
        #expect(try signer.open(sealed, key: Array("A".utf8)) == payload)
        #expect(throws: RecordSeal.Failure.unsigned) { try signer.open(payload, key: Array("A".utf8)) }
        #expect(throws: RecordSeal.Failure.badSignature) { try signer.open(sealed, key: Array("B".utf8)) }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: RecordSeal.Failure.badSignature) { try signer.open(tampered, key: Array("A".utf8)) }
        let otherKey = RecordSeal(key: Array("other".utf8), domain: .sync)
        #expect(throws: RecordSeal.Failure.badSignature) { try otherKey.open(sealed, key: Array("A".utf8)) }
        let changelog = RecordSeal(key: Array("s3cret".utf8), domain: .changelog)
        #expect(throws: RecordSeal.Failure.badSignature) { try changelog.open(sealed, key: Array("A".utf8)) }
        // Without a key: written as is; a sealed record is opened without checking (switch-over).
        let plain = RecordSeal(key: nil, domain: .sync)
        #expect(!plain.isEnabled && RecordSeal(key: [], domain: .sync).isEnabled == false)
        #expect(plain.seal(payload, key: [1]) == payload)
        #expect(try plain.open(payload, key: [1]) == payload)
        #expect(try plain.open(sealed, key: Array("A".utf8)) == payload)
        // An empty payload (a removed user) seals and opens too.
        #expect(try signer.open(signer.seal([], key: [7]), key: [7]) == [])
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
