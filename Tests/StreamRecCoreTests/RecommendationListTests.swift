import Foundation
import Testing

@testable import StreamRecCore

@Suite("RecommendationList")
struct RecommendationListTests {
    static func randomList(_ inputs: inout RandomInputs) -> RecommendationList {
        let count = inputs.rng.nextInt(below: 12)
        return RecommendationList(
            user: inputs.id(),
            items: (0..<count).map { _ in
                ScoredItem(
                    item: inputs.id(),
                    score: (inputs.rng.nextUnitFloat() - 0.5) * Float(1 << inputs.rng.nextInt(below: 30))
                )
            },
            modelVersion: "mf-\(inputs.rng.nextInt(below: 1000))",
            timestamp: Int64(inputs.rng.nextInt(below: Int(EventLimits.maxTimestamp))),
            sourceOffset: inputs.rng.nextInt(below: 2) == 0
                ? nil
                : SourceOffset(
                    topic: "events",
                    partition: Int32(inputs.rng.nextInt(below: 64)),
                    offset: Int64(inputs.rng.nextInt(below: Int.max))
                ),
            fallback: inputs.rng.nextInt(below: 3) == 0 ? "popularity" : nil
        )
    }

    @Test func encodesExactWireFormat() {
        let list = RecommendationList(
            user: "u\"1",
            items: [ScoredItem(item: "i1", score: 2.5), ScoredItem(item: "i2", score: -1)],
            modelVersion: "v7",
            timestamp: 1_700_000_000_000,
            sourceOffset: SourceOffset(topic: "events", partition: 3, offset: 42),
            fallback: "popularity"
        )
        let json = String(decoding: list.jsonBytes(), as: UTF8.self)
        #expect(
            json
                == #"{"user":"u\"1","items":[{"item":"i1","score":2.5},{"item":"i2","score":-1.0}],"model_version":"v7","ts":1700000000000,"source_offset":{"topic":"events","partition":3,"offset":42},"fallback":"popularity"}"#
        )
        let minimal = RecommendationList(user: "u", items: [], modelVersion: "v", timestamp: 0)
        #expect(
            String(decoding: minimal.jsonBytes(), as: UTF8.self)
                == #"{"user":"u","items":[],"model_version":"v","ts":0}"#
        )
    }

    @Test("random lists round-trip exactly through jsonBytes and init(jsonBytes:)")
    func roundTrips() throws {
        var inputs = RandomInputs(seed: 5)
        for _ in 0..<300 {
            let list = Self.randomList(&inputs)
            #expect(try RecommendationList(jsonBytes: list.jsonBytes()) == list)
        }
    }

    @Test func clampsNonFiniteScores() throws {
        let list = RecommendationList(
            user: "u",
            items: [
                ScoredItem(item: "a", score: .infinity), ScoredItem(item: "b", score: -.infinity),
                ScoredItem(item: "c", score: .nan), ScoredItem(item: "d", score: 1),
            ],
            modelVersion: "v",
            timestamp: 1
        )
        let bytes = list.jsonBytes()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("inf") && !text.contains("nan"))
        let decoded = try RecommendationList(jsonBytes: bytes)
        #expect(
            decoded.items.map(\.score) == [
                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1,
            ]
        )
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) is [String: Any])
    }

    @Test(
        "malformed documents are rejected with a reason",
        arguments: [
            ("not json", "malformed JSON"),
            ("[]", "not a JSON object"),
            (#"{"items":[],"model_version":"v","ts":1}"#, "missing field 'user'"),
            (#"{"user":"u","items":{},"model_version":"v","ts":1}"#, "'items' must be an array"),
            (#"{"user":"u","items":[1],"model_version":"v","ts":1}"#, "items[0] is not an object"),
            (#"{"user":"u","items":[{"item":"i"}],"model_version":"v","ts":1}"#, "missing field 'items[0].score'"),
            (
                #"{"user":"u","items":[{"item":"i","score":"1"}],"model_version":"v","ts":1}"#,
                "'items[0].score' must be a number"
            ),
            (
                #"{"user":"u","items":[{"item":"i","score":true}],"model_version":"v","ts":1}"#,
                "'items[0].score' must be a number"
            ),
            (
                #"{"user":"u","items":[{"item":"i","score":1e300}],"model_version":"v","ts":1}"#,
                "outside the Float range"
            ),
            (#"{"user":"u","items":[],"model_version":"v","ts":1.5}"#, "'ts' must be an integer"),
            (#"{"user":"u","items":[],"model_version":"v","ts":-1}"#, "'ts' must be an integer"),
            (#"{"user":"u","items":[],"model_version":"v","ts":true}"#, "'ts' must be a number"),
            (
                #"{"user":"u","items":[],"model_version":"v","ts":1,"source_offset":{"topic":"t","partition":-1,"offset":0}}"#,
                "'source_offset.partition'"
            ),
            (
                #"{"user":"u","items":[],"model_version":"v","ts":1,"source_offset":{"topic":"t","partition":0}}"#,
                "missing field 'source_offset.offset'"
            ),
            (#"{"user":"u","items":[],"model_version":"v","ts":1,"fallback":3}"#, "'fallback' must be a string"),
        ]
    )
    func rejectsMalformed(json: String, message: String) {
        let error = #expect(throws: RecommendationDecodingError.self) {
            try RecommendationList(jsonBytes: Array(json.utf8))
        }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "no error")")
    }
}

@Suite("EventEncoder, EventWeights and DeadLetterRecord")
struct EncodingTests {
    @Test func encodesCompactSchemaOrderedJSON() {
        let event = Event(user: "a\"b\\c\n\u{1}", item: "é😀", timestamp: 12, type: "view", weight: 0.5)
        #expect(
            EventEncoder.jsonLine(event)
                == #"{"user":"a\"b\\c\n\u0001","item":"é😀","ts":12,"type":"view","weight":0.5}"#
        )
        #expect(EventEncoder.jsonLine(Event(user: "u", item: "i", timestamp: 0)) == #"{"user":"u","item":"i","ts":0}"#)
        // A non-finite weight has no JSON form and could never be decoded: it is left out.
        #expect(
            EventEncoder.jsonLine(Event(user: "u", item: "i", timestamp: 0, weight: .nan))
                == #"{"user":"u","item":"i","ts":0}"#
        )
    }

    @Test func encodesRFC4180CSV() {
        var out: [UInt8] = []
        EventEncoder.appendCSV(Event(user: "a,b", item: "say \"hi\"", timestamp: 5, type: "view"), to: &out)
        EventEncoder.appendCSV(Event(user: " pad", item: "i", timestamp: 6, weight: 2), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\"a,b\",\"say \"\"hi\"\"\",5,view,\n\" pad\",i,6,,2.0\n")
    }

    @Test func effectiveWeightRule() {
        let weights = EventWeights()
        func weight(_ type: String?, _ explicit: Float? = nil) -> Float {
            weights.effectiveWeight(Event(user: "u", item: "i", timestamp: 0, type: type, weight: explicit))
        }
        #expect(weight("view") == 1 && weight("click") == 2 && weight("add_to_cart") == 3 && weight("purchase") == 5)
        #expect(weight("rating", 4.5) == 1)  // a rating counts as one interaction by default
        #expect(weight("purchase", 0.25) == 0.25)  // explicit weight wins, even over a known type
        #expect(weight("rating") == 1 && weight("unknown") == 1 && weight(nil) == 1)  // default
        let custom = EventWeights(byType: ["like": 7], defaultWeight: 0.5)
        #expect(custom.effectiveWeight(Event(user: "u", item: "i", timestamp: 0, type: "like")) == 7)
        #expect(custom.effectiveWeight(Event(user: "u", item: "i", timestamp: 0, type: "view")) == 0.5)
        let rated = Event(user: "u", item: "i", timestamp: 0, type: "rating", weight: 4.5)
        #expect(EventWeights(source: .rating).effectiveWeight(rated) == 4.5)
        #expect(
            EventWeights(source: .one).effectiveWeight(Event(user: "u", item: "i", timestamp: 0, type: "purchase")) == 1
        )
        #expect(EventWeights(source: .one).effectiveWeight(Event(user: "u", item: "i", timestamp: 0, weight: 0)) == 0)
        let kept = Event.keepingRatings(
            atLeast: 4,
            in: [
                rated, Event(user: "u", item: "j", timestamp: 1, type: "rating", weight: 3),
                Event(user: "u", item: "k", timestamp: 2),
            ]
        )
        #expect(kept.map(\.item) == ["i", "k"])
    }

    @Test func deadLetterRecordKeepsPayloadAndTruncatesFloods() throws {
        let payload = Array(#"{"user":"u1","item":"i2"}"#.utf8)
        let record = DeadLetterRecord(
            reason: "missing required field 'ts'",
            sourceTopic: "events",
            sourcePartition: 2,
            sourceOffset: 981,
            timestamp: 1_700_000_001_000,
            payload: payload
        )
        let object = try #require(JSONSerialization.jsonObject(with: Data(record.jsonBytes())) as? [String: Any])
        #expect(object["reason"] as? String == "missing required field 'ts'")
        #expect((object["source_offset"] as? NSNumber)?.int64Value == 981)
        #expect(Data(base64Encoded: object["payload_base64"] as? String ?? "").map(Array.init) == payload)
        #expect((object["payload_bytes"] as? NSNumber)?.intValue == payload.count)

        let flood = DeadLetterRecord(
            reason: String(repeating: "é", count: 2000),
            sourceTopic: "events",
            sourcePartition: 0,
            sourceOffset: 0,
            timestamp: 0,
            payload: [UInt8](repeating: 0xFF, count: 100_000)
        )
        let big = try #require(JSONSerialization.jsonObject(with: Data(flood.jsonBytes())) as? [String: Any])
        #expect((big["reason"] as? String)?.utf8.count == DeadLetterRecord.maxReasonBytes)
        #expect(Data(base64Encoded: big["payload_base64"] as? String ?? "")?.count == DeadLetterRecord.maxPayloadBytes)
        #expect((big["payload_bytes"] as? NSNumber)?.intValue == 100_000)
    }
}
