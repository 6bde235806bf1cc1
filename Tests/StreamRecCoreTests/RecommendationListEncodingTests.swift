import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

@Suite("List encoding straight from ranked slots")
struct RecommendationListEncodingTests {
    @Test("integers are written as String(_:) writes them")
    func integers() {
        for v: Int64 in [0, 7, 10, 99, 100, 1_700_000_002_403, -1, -10, -987_654_321, .max, .min] {
            var out: [UInt8] = []
            JSONOutput.appendInteger(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(v))
        }
    }

    @Test("bytes equal the RecommendationList encoding and validate against the schema")
    func sameBytesAsTheList() throws {
        let schema = try JSONSchemaValidator(contentsOf: TestPaths.schema("recommendations.schema.json"))
        var c = ModelConfig()
        c.factors = 8
        var l = try OnlineLearner(config: c)
        var rng = RandomSource(seed: 4)
        for t in 0..<600 {
            _ = try l.learn(
                user: "u\(rng.nextInt(below: 12))",
                item: "i\"\(rng.nextInt(below: 40))",
                timestamp: Int64(t),
                weight: 1
            )
        }
        var selector = RankingPipeline()
        var ranked: [ScoredIndex] = []
        var buffer: [UInt8] = []
        let offset = SourceOffset(topic: "events", partition: 3, offset: 123_456_789)
        for (user, slot) in [("u3", l.users.index(of: "u3")), ("nobody", nil)] {
            l.recommend(userSlot: slot, k: 5, pipeline: &selector, into: &ranked)
            for source in [offset, nil] {
                let list = RecommendationList(
                    user: user,
                    items: ranked.map { ScoredItem(item: l.items.id(at: $0.index)!, score: $0.score) },
                    modelVersion: "v-9",
                    timestamp: 1_700_000_000_123,
                    sourceOffset: source,
                    fallback: slot == nil ? "popularity" : nil
                )
                buffer.removeAll(keepingCapacity: true)
                l.appendRecommendationJSON(
                    user: user,
                    userSlot: slot,
                    ranked: ranked,
                    timestamp: 1_700_000_000_123,
                    sourceOffset: source,
                    modelVersion: "v-9",
                    to: &buffer
                )
                #expect(buffer == list.jsonBytes())
                #expect(try schema.isValid(JSONValue(parsing: buffer)))
                #expect(try RecommendationList(jsonBytes: buffer) == list)
            }
        }
    }
}
