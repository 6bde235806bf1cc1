import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

@Suite("Exploration propensities")
struct ExplorationPropensityTests {
    /// 20 items with distinct popularity; user "me" consumed the 12 least popular, so the greedy top-4 is
    /// i0...i3 and 4 valid candidates (i4...i7) remain for exploration out of n = 20 slots.
    static func learner(seed: UInt64, epsilon: Double) throws -> OnlineLearner {
        var c = ModelConfig()
        c.ranker = .popularity
        c.factors = 4
        c.seed = seed
        c.explorationEpsilon = epsilon
        var learner = try OnlineLearner(config: c)
        for i in 0..<20 { try learner.learn(user: "o\(i)", item: "i\(i)", timestamp: 0, weight: Float(100 - i)) }
        for i in 8..<20 { try learner.learn(user: "me", item: "i\(i)", timestamp: 1, weight: 1) }
        return learner
    }

    @Test("per slot, the propensities of every item that can land there sum to 1")
    func sumToOne() {
        let greedy: [Int32] = [0, 1, 2, 3]
        for (eps, valid, n) in [(0.3, 4, 20), (1.0, 2, 50), (0.05, 500, 600)] {
            let others = (10..<(10 + Int32(valid)))
            for s in 0..<4 {
                var total = 0.0
                for candidate in [greedy[s]] + Array(others) + Array(greedy[..<s]) {
                    var list = greedy
                    list[s] = candidate
                    total +=
                        ExplorationPropensity.slotProbabilities(
                            epsilon: eps,
                            greedy: greedy,
                            list: list,
                            valid: valid,
                            slots: n
                        )[s]
                }
                #expect(abs(total - 1) < 1e-12, "ε \(eps) slot \(s): \(total)")
            }
        }
        // No valid candidate: exploration can't replace anything.
        #expect(
            ExplorationPropensity.slotProbabilities(epsilon: 0.5, greedy: [1, 2], list: [1, 2], valid: 0, slots: 2) == [
                1, 1,
            ]
        )
    }

    @Test("logged propensities match the frequencies of the real ε-greedy ranker over 3000 seeds")
    func matchesFrequencies() throws {
        let trials = 3000
        var counts: [String: Int] = [:]
        var reported: [String: Double] = [:]
        var inList: [String: Int] = [:]
        var reportedInList: [String: Double] = [:]
        var selector = RankingPipeline()
        var list: [ScoredIndex] = []
        for seed in 1...UInt64(trials) {
            let learner = try Self.learner(seed: seed, epsilon: 0.3)
            let me = learner.users.index(of: "me")
            learner.recommend(userSlot: me, k: 4, pipeline: &selector, into: &list)
            let both = try #require(learner.explorationPropensities(userSlot: me, list: list, pipeline: selector))
            let p = both.slot
            #expect(p.count == 4 && both.list.count == 4)
            for (s, item) in list.enumerated() {
                let id = learner.items.id(at: item.index)!
                let key = "\(s):\(id)"
                counts[key, default: 0] += 1
                if let previous = reported[key] { #expect(previous == p[s]) }  // a function of (slot, item) only
                reported[key] = p[s]
                inList[id, default: 0] += 1
                if let previous = reportedInList[id] { #expect(previous == both.list[s]) }  // of the item only
                reportedInList[id] = both.list[s]
            }
        }
        #expect(reported["0:i0"] != nil && reported["1:i5"] != nil)
        for (key, p) in reported {
            let frequency = Double(counts[key]!) / Double(trials)
            let tolerance = 4 * (p * (1 - p) / Double(trials)).squareRoot() + 1.0 / Double(trials)
            #expect(abs(frequency - p) <= tolerance, "\(key): frequency \(frequency) vs propensity \(p)")
        }
        for (id, p) in reportedInList {
            let frequency = Double(inList[id]!) / Double(trials)
            let tolerance = 4 * (p * (1 - p) / Double(trials)).squareRoot() + 1.0 / Double(trials)
            #expect(abs(frequency - p) <= tolerance, "\(id) in list: frequency \(frequency) vs propensity \(p)")
        }
        #expect(reportedInList.count == 8)  // i0...i3 (greedy) and i4...i7 (the valid candidates)
        // Greedy kept: 1 − ε(1 − r¹⁶), r = 1 − 4/20.
        #expect(abs(reported["0:i0"]! - (1 - 0.3 * (1 - pow(0.8, 16)))) < 1e-12)
    }

    @Test("lists carry propensities only with ε > 0, and they validate against the recommendations schema")
    func schemaAndRoundTrip() throws {
        let schema = try JSONSchemaValidator(contentsOf: TestPaths.schema("recommendations.schema.json"))
        for epsilon in [0.0, 0.3] {
            let learner = try Self.learner(seed: 7, epsilon: epsilon)
            var selector = RankingPipeline()
            var ranked: [ScoredIndex] = []
            let me = learner.users.index(of: "me")
            learner.recommend(userSlot: me, k: 4, pipeline: &selector, into: &ranked)
            let p = learner.explorationPropensities(userSlot: me, list: ranked, pipeline: selector)
            #expect((p == nil) == (epsilon == 0))
            let list = RecommendationList(
                user: "me",
                items: ranked.indices.map {
                    ScoredItem(
                        item: learner.items.id(at: ranked[$0].index)!,
                        score: ranked[$0].score,
                        propensity: p?.slot[$0],
                        listPropensity: p?.list[$0]
                    )
                },
                modelVersion: learner.modelVersion,
                timestamp: 1,
                sourceOffset: SourceOffset(topic: "events", partition: 0, offset: 41)
            )
            let bytes = list.jsonBytes()
            #expect(try schema.errors(JSONValue(parsing: bytes)) == [])
            #expect(String(decoding: bytes, as: UTF8.self).contains("propensity") == (epsilon > 0))
            // Foundation's JSON parser on Linux may be off by one ulp in a Double: compare with a tolerance.
            var decoded = try RecommendationList(jsonBytes: bytes)
            for (n, item) in decoded.items.enumerated() {
                #expect((item.propensity == nil) == (list.items[n].propensity == nil))
                if let a = item.propensity, let b = list.items[n].propensity { #expect(abs(a - b) <= 1e-15 * b) }
                if let a = item.listPropensity, let b = list.items[n].listPropensity {
                    #expect(abs(a - b) <= 1e-15 * b)
                }
                decoded.items[n].propensity = list.items[n].propensity
                decoded.items[n].listPropensity = list.items[n].listPropensity
            }
            #expect(decoded == list)
        }
        for bad in [
            #"{"user":"u","items":[{"item":"a","score":1,"propensity":1.5}],"model_version":"v","ts":0}"#,
            #"{"user":"u","items":[{"item":"a","score":1,"propensity":"0.5"}],"model_version":"v","ts":0}"#,
            #"{"user":"u","items":[{"item":"a","score":1,"list_propensity":-0.1}],"model_version":"v","ts":0}"#,
        ] {
            #expect(try !schema.errors(JSONValue(parsing: Array(bad.utf8))).isEmpty)
            #expect(throws: RecommendationDecodingError.self) { try RecommendationList(jsonBytes: Array(bad.utf8)) }
        }
    }
}
