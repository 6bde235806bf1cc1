import Foundation
import Testing

@testable import StreamRecCore

@Suite("EventDecoder")
struct EventDecoderTests {
    let decoder = EventDecoder()

    @Test(
        "valid documents decode to the expected event",
        arguments: [
            (
                #"{"user":"u1","item":"i1","ts":1700000000000}"#,
                Event(user: "u1", item: "i1", timestamp: 1_700_000_000_000)
            ),
            (
                " \t\r\n{ \"ts\" : 5 , \"item\" : \"b\" , \"user\" : \"a\" }\n ",
                Event(user: "a", item: "b", timestamp: 5)
            ),
            (#"{"user":42,"item":-7,"ts":0}"#, Event(user: "42", item: "-7", timestamp: 0)),
            (#"{"user":-0,"item":0,"ts":-0}"#, Event(user: "0", item: "0", timestamp: 0)),
            (
                #"{"user":"u","item":"i","ts":253402300799999,"type":"purchase","weight":2.5}"#,
                Event(user: "u", item: "i", timestamp: 253_402_300_799_999, type: "purchase", weight: 2.5)
            ),
            (#"{"user":"u","item":"i","ts":1,"type":null,"weight":null}"#, Event(user: "u", item: "i", timestamp: 1)),
            (#"{"user":"u","item":"i","ts":1,"weight":1e2}"#, Event(user: "u", item: "i", timestamp: 1, weight: 100)),
            (#"{"user":"u","item":"i","ts":1,"weight":0}"#, Event(user: "u", item: "i", timestamp: 1, weight: 0)),
            (#"{"user":"u","item":"i","ts":1,"weight":1000}"#, Event(user: "u", item: "i", timestamp: 1, weight: 1000)),
            (
                #"{"u\u0073er":"\"q\"\\\/\b\f\n\r\t","item":"\u00e9\u4e2d\ud83d\ude00","ts":1}"#,
                Event(user: "\"q\"\\/\u{8}\u{c}\n\r\t", item: "é中😀", timestamp: 1)
            ),
            ("{\"user\":\"é中😀\",\"item\":\"x\",\"ts\":1}", Event(user: "é中😀", item: "x", timestamp: 1)),
            (
                #"{"meta":{"a":[1,2.5e-3,{"b":[true,false,null,"x\"}"]}],"c":{}},"user":"u","tags":[],"item":"i","ts":3,"n":-0.0E+1}"#,
                Event(user: "u", item: "i", timestamp: 3)
            ),
            (
                #"{"user":"u","item":"i","ts":1,"type":"rating","weight":4,"unknown":"ts"}"#,
                Event(user: "u", item: "i", timestamp: 1, type: "rating", weight: 4)
            ),
        ]
    )
    func decodesValid(json: String, expected: Event) throws {
        #expect(try decoder.decode(Substring(json)) == expected)
        #expect(try decoder.decode(Array(json.utf8)) == expected)
    }

    @Test(
        "invalid documents are rejected with the right reason",
        arguments: [
            ("", "malformedJSON"),
            ("   ", "malformedJSON"),
            ("[]", "malformedJSON"),
            (#""user""#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1,}"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1} x"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1}{}"#, "malformedJSON"),
            (#"{"user":"u" "item":"i","ts":1}"#, "malformedJSON"),
            (#"{user:"u","item":"i","ts":1}"#, "malformedJSON"),
            (#"{"user":'u',"item":"i","ts":1}"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":01}"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1,"x":tru}"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1,"x":[1,]}"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1,"x":{"a"}}"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1,"x":1.}"#, "malformedJSON"),
            (#"{"user":"u","item":"i","ts":1,"x":NaN}"#, "malformedJSON"),
            (#"{"user":"a\x","item":"i","ts":1}"#, "malformedJSON"),
            (#"{"user":"a\u12","item":"i","ts":1}"#, "malformedJSON"),
            (#"{"user":"\ud800","item":"i","ts":1}"#, "malformedJSON"),
            (#"{"user":"\udc00x","item":"i","ts":1}"#, "malformedJSON"),
            (#"{"user":"\ud83d\u0041","item":"i","ts":1}"#, "malformedJSON"),
            ("{\"user\":\"a\tb\",\"item\":\"i\",\"ts\":1}", "malformedJSON"),
            (#"{"user":"unterminated,"item":"i","ts":1}"#, "malformedJSON"),
            (String(repeating: "[", count: 10) + "{}", "malformedJSON"),
            (
                #"{"x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}",
                "malformedJSON"
            ),
            (#"{"item":"i","ts":1}"#, "missingField"),
            (#"{"user":"u","ts":1}"#, "missingField"),
            (#"{"user":"u","item":"i"}"#, "missingField"),
            ("{}", "missingField"),
            (#"{"user":"u","user":"v","item":"i","ts":1}"#, "duplicateField"),
            (#"{"user":"u","item":"i","ts":1,"t\u0073":2}"#, "duplicateField"),
            (#"{"user":true,"item":"i","ts":1}"#, "wrongType"),
            (#"{"user":null,"item":"i","ts":1}"#, "wrongType"),
            (#"{"user":1.5,"item":"i","ts":1}"#, "wrongType"),
            (#"{"user":"u","item":["i"],"ts":1}"#, "wrongType"),
            (#"{"user":"u","item":"i","ts":"1"}"#, "wrongType"),
            (#"{"user":"u","item":"i","ts":1,"type":3}"#, "wrongType"),
            (#"{"user":"u","item":"i","ts":1,"weight":"3"}"#, "wrongType"),
            (#"{"user":"","item":"i","ts":1}"#, "emptyId"),
            (#"{"user":"u","item":"","ts":1}"#, "emptyId"),
            (#"{"user":"u","item":"i","ts":1,"type":""}"#, "invalidType"),
            (#"{"user":"u","item":"i","ts":1,"type":"\#(String(repeating: "t", count: 33))"}"#, "invalidType"),
            (#"{"user":"u","item":"i","ts":1.5}"#, "invalidTimestamp"),
            (#"{"user":"u","item":"i","ts":1e3}"#, "invalidTimestamp"),
            (#"{"user":"u","item":"i","ts":-1}"#, "invalidTimestamp"),
            (#"{"user":"u","item":"i","ts":253402300800000}"#, "invalidTimestamp"),
            (#"{"user":"u","item":"i","ts":99999999999999999999999}"#, "invalidTimestamp"),
            (#"{"user":"u","item":"i","ts":1,"weight":-0.5}"#, "invalidWeight"),
            (#"{"user":"u","item":"i","ts":1,"weight":1000.5}"#, "invalidWeight"),
            (#"{"user":"u","item":"i","ts":1,"weight":1e39}"#, "invalidWeight"),
            (#"{"user":"u","item":"i","ts":1,"weight":1e999}"#, "invalidWeight"),
        ]
    )
    func rejectsInvalid(json: String, kind: String) {
        #expect {
            try decoder.decode(Substring(json))
        } throws: { error in
            (error as? EventDecodingError)?.reason.kind == kind
        }
    }

    @Test func rejectsInvalidUTF8AndReportsOffset() throws {
        let prefix = Array(#"{"user":"ab"#.utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]] {
            let bytes = prefix + bad + Array(#"","item":"i","ts":1}"#.utf8)
            let error = #expect(throws: EventDecodingError.self) { try decoder.decode(bytes) }
            #expect(error?.reason == .invalidUTF8(offset: prefix.count))
        }
        // Invalid UTF-8 inside a skipped member and outside strings is rejected too.
        #expect(throws: EventDecodingError.self) {
            try decoder.decode(Array(#"{"x":""#.utf8) + [0xFE] + Array(#"","user":"u","item":"i","ts":1}"#.utf8))
        }
        #expect(throws: EventDecodingError.self) {
            try decoder.decode(Array(#"{"user":"u","item":"i","ts":1}"#.utf8) + [0xC3])
        }
    }

    @Test func enforcesLimits() throws {
        let limits = EventLimits(maxIdBytes: 4, maxTypeBytes: 3, maxMessageBytes: 80, weightRange: 1...5)
        let strict = EventDecoder(limits: limits)
        #expect(
            try strict.decode(Substring(#"{"user":"abcd","item":"é","ts":1,"type":"ab","weight":5}"#)).user == "abcd"
        )
        // Byte (not character) caps: "ééé" is 3 characters but 6 bytes.
        let long = #expect(throws: EventDecodingError.self) {
            try strict.decode(Substring(#"{"user":"ééé","item":"i","ts":1}"#))
        }
        #expect(long?.reason == .idTooLong(field: "user", bytes: 6, limit: 4))
        let escaped = #expect(throws: EventDecodingError.self) {
            try strict.decode(Substring(#"{"user":"u","item":"\u00e9\u00e9\u00e9","ts":1}"#))
        }
        #expect(escaped?.reason == .idTooLong(field: "item", bytes: 6, limit: 4))
        #expect(throws: EventDecodingError.self) { try strict.decode(Substring(#"{"user":12345,"item":"i","ts":1}"#)) }
        #expect(throws: EventDecodingError.self) {
            try strict.decode(Substring(#"{"user":"u","item":"i","ts":1,"type":"view"}"#))
        }
        #expect(throws: EventDecodingError.self) {
            try strict.decode(Substring(#"{"user":"u","item":"i","ts":1,"weight":0.5}"#))
        }
        let padded = #"{"user":"u","item":"i","ts":1}"# + String(repeating: " ", count: 60)
        let tooLarge = #expect(throws: EventDecodingError.self) { try strict.decode(Substring(padded)) }
        #expect(tooLarge?.reason == .tooLarge(bytes: padded.utf8.count, limit: 80))
    }

    @Test func errorDescriptionsNameTheProblem() {
        let cases: [(EventDecodingError.Reason, String)] = [
            (.tooLarge(bytes: 70000, limit: 65536), "message too large: 70000 bytes (limit 65536)"),
            (.missingField("ts"), "missing required field 'ts'"),
            (.idTooLong(field: "user", bytes: 300, limit: 256), "field 'user' too long: 300 bytes (limit 256)"),
            (.malformedJSON(offset: 12, "expected ':'"), "malformed JSON at byte 12: expected ':'"),
            (.emptyId(field: "item"), "field 'item' must not be empty"),
        ]
        for (reason, text) in cases { #expect(EventDecodingError(reason).description == text) }
        let error = #expect(throws: EventDecodingError.self) {
            try decoder.decode(Substring(#"{"user":"u","item":"i","ts":-5}"#))
        }
        #expect(error?.description == "invalid 'ts': negative: '-5'")
    }

    @Test func decodesEveryEntryPointFromBufferSlices() throws {
        let line = #"{"user":"u","item":"i","ts":7}"#
        let text = "garbage\n" + line + "\nmore"
        let slice = text.split(separator: "\n")[1]
        #expect(try decoder.decode(slice) == Event(user: "u", item: "i", timestamp: 7))
        let event = try Array(line.utf8).withUnsafeBytes { try decoder.decode($0) }
        #expect(event.timestamp == 7)
    }

    @Test("random events round-trip through EventEncoder and JSONSerialization")
    func randomRoundTrip() throws {
        var inputs = RandomInputs(seed: 7)
        for _ in 0..<300 {
            let event = inputs.event()
            let encoded = EventEncoder.jsonBytes(event)
            #expect(try decoder.decode(encoded) == event)

            // JSONSerialization agrees on what our encoder wrote…
            let parsed = try #require(JSONSerialization.jsonObject(with: Data(encoded)) as? [String: Any])
            #expect(parsed["user"] as? String == event.user)
            #expect(parsed["item"] as? String == event.item)
            #expect((parsed["ts"] as? NSNumber)?.int64Value == event.timestamp)
            #expect(parsed["type"] as? String == event.type)
            #expect((parsed["weight"] as? NSNumber).map { Float($0.doubleValue) } == event.weight)

            // …and we decode what JSONSerialization writes, with unknown nested members mixed in.
            var object: [String: Any] = [
                "user": event.user, "item": event.item, "ts": event.timestamp,
                "extra": ["nested": [1, "two", ["three": NSNull()]], "flag": true],
            ]
            if let type = event.type { object["type"] = type }
            if let weight = event.weight { object["weight"] = Double(weight) }
            let foreign = try JSONSerialization.data(withJSONObject: object)
            #expect(try decoder.decode(Array(foreign)) == event)

            // Every character \u-escaped (non-BMP as surrogate pairs) decodes to the same ids.
            let escaped =
                #"{"user":"\#(Self.escapeAll(event.user))","item":"\#(Self.escapeAll(event.item))","ts":\#(event.timestamp)}"#
            let plain = try decoder.decode(Substring(escaped))
            #expect(plain.user == event.user && plain.item == event.item)
        }
    }

    static func escapeAll(_ string: String) -> String {
        string.utf16.map { String(format: "\\u%04x", $0) }.joined()
    }
}
