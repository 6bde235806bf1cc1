import Testing

@testable import StreamRecCore

@Suite("Top-K ranking")
struct RankingTests {
    func trainedLearner(
        users: Int = 30,
        items: Int = 300,
        events: Int = 3000,
        ranker: ModelConfig.Ranker = .mf
    ) throws -> OnlineLearner {
        var c = ModelConfig()
        c.factors = 13  // not a multiple of 8: exercises row padding
        c.sequenceContext = 0  // the naive reference below is the plain MF score
        c.neighborWidth = 0  // (no item-neighbour blend either)
        c.ranker = ranker
        var l = try OnlineLearner(config: c)
        var rng = RandomSource(seed: 5)
        for t in 0..<events {
            try l.learn(
                user: "u\(rng.nextInt(below: users))",
                item: "i\(rng.nextInt(below: items))",
                timestamp: Int64(t),
                weight: 1
            )
        }
        return l
    }

    @Test("top-K equals a naive full sort, excluding seen items", arguments: [1, 10, 50])
    func matchesNaive(k: Int) throws {
        let l = try trainedLearner()
        var selector = RankingPipeline()
        var out = [ScoredIndex]()
        for u in 0..<Int32(l.users.slotCount) {
            l.recommend(userSlot: u, k: k, pipeline: &selector, into: &out)
            var all = [ScoredIndex]()
            for i in 0..<Int32(l.model.itemCount) where !l.store.hasSeen(user: u, item: i) {
                // Naive scalar dot product, independent of the SIMD kernel.
                let uf = l.model.userFactors.row(Int(u))
                let vf = l.model.itemFactors.row(Int(i))
                var s: Float = 0
                for c in 0..<uf.count { s += uf[c] * vf[c] }
                all.append(ScoredIndex(index: i, score: s + l.model.itemBias[Int(i)]))
            }
            all.sort { $0.ranks(above: $1) }
            let expected = Array(all.prefix(k))
            #expect(out.map(\.index) == expected.map(\.index))
            for (a, b) in zip(out, expected) { #expect(abs(a.score - b.score) < 1e-4) }
        }
    }

    @Test("seen items are never recommended", arguments: ModelConfig.Ranker.allCases)
    func seenExcluded(ranker: ModelConfig.Ranker) throws {
        let l = try trainedLearner(users: 5, items: 40, events: 150, ranker: ranker)
        var selector = RankingPipeline()
        var out = [ScoredIndex]()
        for u in 0..<Int32(l.users.slotCount) {
            l.recommend(userSlot: u, k: 40, pipeline: &selector, into: &out)
            #expect(!out.isEmpty)
            #expect(out.count == min(40, l.items.count) - l.store.seenCount(of: u))
            for s in out { #expect(!l.store.seenItems(of: u).contains(s.index)) }
        }
    }

    @Test("unknown users get the most popular items")
    func unknownUserPopularity() throws {
        let l = try trainedLearner()
        let recs = l.recommend(user: "nobody", k: 5)
        let popularity = l.model.itemPopularity
        let top = popularity.indices.sorted {
            popularity[$0] > popularity[$1] || (popularity[$0] == popularity[$1] && $0 < $1)
        }.prefix(5)
        #expect(recs.map(\.item) == top.map { l.items.id(at: Int32($0))! })
    }

    @Test("selector keeps the best K of random scores in order")
    func selectorRandom() {
        var rng = RandomSource(seed: 3)
        var selector = TopKSelector(k: 7)
        var all = [ScoredIndex]()
        for i in 0..<500 {
            let c = ScoredIndex(index: Int32(i), score: Float(rng.nextInt(below: 50)))  // many ties
            all.append(c)
            selector.offer(c)
        }
        all.sort { $0.ranks(above: $1) }
        #expect(selector.sorted() == Array(all.prefix(7)))
    }
}
