import Foundation
import Testing

@testable import StreamRecCore

@Suite("Test-then-train step and list builder")
struct PrequentialStepTests {
    func config() -> ModelConfig {
        var c = ModelConfig()
        c.factors = 8
        return c
    }

    @Test("online recall through the step equals replay's recall on the same log (one protocol)")
    func onlineEqualsOffline() throws {
        let events = try ReplayTests.plantedLog(events: 3_000)
        var options = ReplayOptions()
        options.measureDiversity = false
        options.aucSamples = 0
        options.ranking = .exact
        var session = try ReplaySession(config: config(), options: options)
        let report = try session.run(events: events)

        var learner = try OnlineLearner(config: config())
        var tracker: OnlineRecallTracker? = OnlineRecallTracker(k: options.k, windowSize: 10, sampling: .everyNth(1))
        let step = PrequentialStep(weights: options.weights)
        for e in events { step.apply(e, to: &learner, observer: &tracker) }
        let t = try #require(tracker)
        #expect(t.totalScored == report.scoredEvents)
        #expect(t.repeatsSkipped == report.repeatEventsSkipped)
        #expect(t.lifetimeRecall == report.recall)
        // Same events learned the same way: the same model.
        #expect(learner == session.learner)
    }

    @Test("the step learns with the effective weight, times only when asked, and a nil observer observes nothing")
    func stepBasics() throws {
        var weights = EventWeights()
        weights.byType["view"] = 0
        let step = PrequentialStep(weights: weights)
        var learner = try OnlineLearner(config: config())
        var none: OnlineRecallTracker? = nil
        let a = step.apply(Event(user: "u", item: "i", timestamp: 1, type: "view"), to: &learner, observer: &none)
        #expect(a.learnDuration == nil)
        #expect(learner.counters.zeroWeightEvents == 1)
        let b = step.apply(Event(user: "u", item: "j", timestamp: 2), to: &learner, timed: true)
        #expect(b.learnDuration != nil)
        #expect(try b.result.get().isNewItem)
        #expect(learner.counters.events == 2)
    }

    @Test("list builder: ids, fallback for unknown users, propensities only when asked and ε > 0")
    func listBuilder() throws {
        var c = config()
        c.explorationEpsilon = 0.2
        var learner = try OnlineLearner(config: c)
        let step = PrequentialStep()
        for (n, e) in try ReplayTests.plantedLog(events: 500).enumerated() where n < 500 { step.apply(e, to: &learner) }
        var selector = RankingPipeline()
        var ranked: [ScoredIndex] = []
        let user = learner.users.id(at: 0)!
        learner.recommend(userSlot: 0, k: 5, pipeline: &selector, into: &ranked)
        let offset = SourceOffset(topic: "t", partition: 2, offset: 7)
        let list = learner.recommendationList(
            user: user,
            userSlot: 0,
            ranked: ranked,
            propensitiesFrom: selector,
            timestamp: 9,
            sourceOffset: offset
        )
        #expect(list.items.map(\.item) == ranked.map { learner.items.id(at: $0.index)! })
        #expect(list.items.map(\.score) == ranked.map(\.score))
        #expect(list.items.allSatisfy { $0.propensity != nil && $0.listPropensity != nil })
        #expect(list.fallback == nil && list.sourceOffset == offset && list.timestamp == 9)
        #expect(list.modelVersion == learner.modelVersion)
        let plain = learner.recommendationList(user: user, userSlot: 0, ranked: ranked, timestamp: 9)
        #expect(plain.items.allSatisfy { $0.propensity == nil })
        learner.recommend(userSlot: nil, k: 5, pipeline: &selector, into: &ranked)
        let cold = learner.recommendationList(user: "nobody", userSlot: nil, ranked: ranked, timestamp: 1)
        #expect(cold.fallback == "popularity" && cold.items.count == 5)
    }

    @Test("cosine helper: 0 for a zero vector, 1 for parallel vectors")
    func cosine() {
        let a: [Float] = [1, 2, 0, 0, 0, 0, 0, 0]
        let b: [Float] = [2, 4, 0, 0, 0, 0, 0, 0]
        let z = [Float](repeating: 0, count: 8)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                z.withUnsafeBufferPointer { pz in
                    let na = VectorKernels.norm(pa.baseAddress!, stride: 8)
                    let nb = VectorKernels.norm(pb.baseAddress!, stride: 8)
                    #expect(
                        abs(VectorKernels.cosine(pa.baseAddress!, pb.baseAddress!, normA: na, normB: nb, stride: 8) - 1)
                            < 1e-6
                    )
                    #expect(VectorKernels.cosine(pa.baseAddress!, pz.baseAddress!, normA: na, normB: 0, stride: 8) == 0)
                }
            }
        }
    }
}

@Suite("Partition key")
struct PartitionKeyTests {
    @Test("SourcePosition keyed by TopicPartition: map and list forms agree, sorted, encoding unchanged")
    func position() throws {
        let map: [TopicPartition: Int64] = [
            TopicPartition("b", 0): 5, TopicPartition("a", 1): 7, TopicPartition("a", 0): 3,
        ]
        let fromMap = SourcePosition(offsets: map)
        var built = SourcePosition()
        built.setOffset(7, topic: "a", partition: 1)
        built.setOffset(5, for: TopicPartition("b", 0))
        built.setOffset(3, topic: "a", partition: 0)
        #expect(fromMap == built)
        #expect(fromMap.offsets.map(\.key) == [TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)])
        #expect(fromMap.offsetsByPartition == map)
        #expect(fromMap.offset(of: TopicPartition("a", 1)) == 7 && fromMap.offset(topic: "b", partition: 0) == 5)
        #expect(SourceOffset(TopicPartition("t", 2), offset: 9) == SourceOffset(topic: "t", partition: 2, offset: 9))
        // Wire layout of a position (what snapshots store): events, count, then (topic, partition, offset).
        var w = BinaryWriter()
        fromMap.encode(into: &w)
        var r = BinaryReader(w.bytes)
        #expect(try SourcePosition.decode(from: &r) == fromMap)
    }
}
