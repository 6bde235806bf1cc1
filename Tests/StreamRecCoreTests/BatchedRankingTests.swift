import Testing

@testable import StreamRecCore

@Suite("Batched exact ranking")
struct BatchedRankingTests {
    func learner(sequenceContext: Int, factors: Int, neighbors: Int = 0, epsilon: Double = 0) throws -> OnlineLearner {
        var c = ModelConfig()
        c.factors = factors
        c.sequenceContext = sequenceContext
        c.neighborWidth = neighbors
        c.explorationEpsilon = epsilon
        var l = try OnlineLearner(config: c)
        var rng = RandomSource(seed: 9)
        for t in 0..<2_500 {
            try l.learn(
                user: "u\(rng.nextInt(below: 23))",
                item: "i\(rng.nextInt(below: 301))",
                timestamp: Int64(t),
                weight: 1
            )
        }
        return l
    }

    @Test(
        "rankBatch lists equal recommend(exact:) bit for bit, four-user groups and leftovers",
        arguments: [
            (0, 13, 0, 0.0), (0, 32, 0, 0.0), (3, 16, 0, 0.0), (3, 32, 128, 0.0), (2, 8, 7, 0.0), (3, 16, 128, 0.2),
        ]
    )
    func equalsPerUser(sequenceContext: Int, factors: Int, neighbors: Int, epsilon: Double) throws {
        let l = try learner(sequenceContext: sequenceContext, factors: factors, neighbors: neighbors, epsilon: epsilon)
        #expect(l.supportsBatchedRanking == (epsilon == 0))
        if neighbors > 0 { #expect(l.model.neighborBlend > 0 && l.model.popularityBlend > 0) }  // the blend terms count
        // 23 known users (5 groups of four + 3 left over) with an unknown user in between.
        var slots: [Int32?] = (0..<Int32(l.users.slotCount)).map { $0 }
        slots.insert(nil, at: 6)
        var selectors: [TopKSelector] = []
        var outputs: [[ScoredIndex]] = []
        l.rankBatch(userSlots: slots, k: 10, selectors: &selectors, into: &outputs)
        var selector = TopKSelector(k: 10)
        var expected: [ScoredIndex] = []
        for (n, slot) in slots.enumerated() {
            l.recommend(userSlot: slot, k: 10, selector: &selector, into: &expected, exact: true)
            #expect(outputs[n] == expected)
            #expect(outputs[n].count == 10)
        }
    }

    @Test("the four-query kernel scores exactly as the one-query kernel")
    func kernelMatches() {
        var m = BlockedItemMatrix(dimension: 7)
        var rng = RandomSource(seed: 3)
        var row = [Float](repeating: 0, count: 7)
        for i in 0..<21 {
            m.appendItem()
            for c in 0..<7 { row[c] = rng.nextUnitFloat() - 0.5 }
            row.withUnsafeBufferPointer { m.update(item: i, factors: $0.baseAddress!, bias: Float(i) * 0.01) }
        }
        let queries: [[Float]] = (0..<4).map { _ in (0..<7).map { _ in rng.nextUnitFloat() - 0.5 } }
        var single: [[SIMD8<Float>]] = [[], [], [], []]
        var four: [[SIMD8<Float>]] = [[], [], [], []]
        for q in 0..<4 {
            queries[q].withUnsafeBufferPointer { Q in
                m.scoreBlocks(user: Q.baseAddress!) { _, s in single[q].append(s) }
            }
        }
        queries[0].withUnsafeBufferPointer { A in
            queries[1].withUnsafeBufferPointer { B in
                queries[2].withUnsafeBufferPointer { C in
                    queries[3].withUnsafeBufferPointer { D in
                        m.scoreBlocks4(A.baseAddress!, B.baseAddress!, C.baseAddress!, D.baseAddress!) {
                            _,
                            a,
                            b,
                            c,
                            d in
                            four[0].append(a)
                            four[1].append(b)
                            four[2].append(c)
                            four[3].append(d)
                        }
                    }
                }
            }
        }
        #expect(single == four)
        #expect(single[0].count == 3)
    }
}
