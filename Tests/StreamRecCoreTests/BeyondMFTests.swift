import Foundation
import Testing

@testable import StreamRecCore

/// Exploration, sequence-aware scoring, cold start, forgetting and tuning.
@Suite("Beyond plain MF")
struct BeyondMFTests {
    static func randomLearner(
        _ configure: (inout ModelConfig) -> Void = { _ in },
        users: Int = 30,
        items: Int = 120,
        events: Int = 2000
    ) throws -> OnlineLearner {
        var c = ModelConfig()
        c.factors = 8
        configure(&c)
        var l = try OnlineLearner(config: c)
        var rng = RandomSource(seed: 11)
        for t in 0..<events {
            try l.learn(
                user: "u\(rng.nextInt(below: users))",
                item: "i\(rng.nextInt(below: items))",
                timestamp: Int64(t) * 1000,
                weight: 1
            )
        }
        return l
    }

    static func lists(_ l: OnlineLearner, k: Int) -> [[ScoredIndex]] {
        var selector = RankingPipeline()
        var out = [ScoredIndex]()
        return (0..<Int32(l.users.slotCount)).map { u in
            l.recommend(userSlot: u, k: k, pipeline: &selector, into: &out)
            return out
        }
    }

    /// The same learner state under another ranking-only config (exploration settings never affect
    /// learning, so training twice is not needed: the learned state is identical).
    static func withRanking(_ l: OnlineLearner, _ configure: (inout ModelConfig) -> Void) throws -> OnlineLearner {
        var c = l.config
        configure(&c)
        try c.validate()
        return OnlineLearner(
            config: c,
            users: l.users,
            items: l.items,
            store: l.store,
            model: l.model.withConfig(c),
            counters: l.counters
        )
    }

    // MARK: Exploration

    @Test("ε = 0 is plain ranking; ε = 1 fills every slot with a distinct random unconsumed live item")
    func epsilonGreedy() throws {
        let plain = try Self.randomLearner()
        let zero = try Self.withRanking(plain) { $0.explorationEpsilon = 0 }
        #expect(Self.lists(zero, k: 10) == Self.lists(plain, k: 10))
        let one = try Self.withRanking(plain) { $0.explorationEpsilon = 1 }
        let explored = Self.lists(one, k: 10)
        let base = Self.lists(plain, k: 10)
        var replaced = 0
        var slots = 0
        for (u, (list, plainList)) in zip(explored, base).enumerated() {
            #expect(list.count == plainList.count)
            #expect(Set(list.map(\.index)).count == list.count)
            for s in list {
                #expect(!one.store.hasSeen(user: Int32(u), item: s.index))
                #expect(one.items.isLive(s.index))
            }
            for (a, b) in zip(list, plainList) where a.index != b.index { replaced += 1 }
            slots += list.count
        }
        // Random replacements coincide with the plain item only by chance (~k/catalog).
        #expect(Double(replaced) > 0.8 * Double(slots), "\(replaced) of \(slots) slots replaced")
        // Deterministic: ranking twice gives the same lists, and ranking never changes the learner.
        #expect(Self.lists(one, k: 10) == explored)
    }

    @Test("uncertainty bonus ranks a rarely seen item higher")
    func uncertaintyBonus() throws {
        var c = ModelConfig()
        c.factors = 4
        c.neighborWidth = 0  // the bonus alone: neighbour scores of pop0 would outrank the rare item
        var l = try OnlineLearner(config: c)
        // 40 popular items seen many times, one rare item seen once; the target user has seen none.
        for t in 0..<2000 { try l.learn(user: "fan\(t % 20)", item: "pop\(t % 40)", timestamp: Int64(t), weight: 1) }
        try l.learn(user: "other", item: "rare", timestamp: 2001, weight: 1)
        try l.learn(user: "target", item: "pop0", timestamp: 2002, weight: 1)
        let rare = try #require(l.items.index(of: "rare"))
        let target = try #require(l.users.index(of: "target"))
        func rank(_ learner: OnlineLearner) -> Int {
            var selector = RankingPipeline()
            var out = [ScoredIndex]()
            learner.recommend(userSlot: target, k: 50, pipeline: &selector, into: &out)
            return out.firstIndex { $0.index == rare } ?? 50
        }
        let without = rank(l)
        let with = rank(try Self.withRanking(l) { $0.uncertaintyBonus = 5 })
        #expect(with < without, "rank \(without) → \(with)")
        #expect(with == 0)
    }

    @Test("MMR with λ = 1 equals plain top-K; λ < 1 increases intra-list diversity")
    func mmr() throws {
        let plain = try Self.randomLearner(events: 4000)
        let one = try Self.withRanking(plain) {
            $0.diversityLambda = 1
            $0.diversityCandidates = 40
        }
        #expect(Self.lists(one, k: 10) == Self.lists(plain, k: 10))
        let diverse = try Self.withRanking(plain) {
            $0.diversityLambda = 0.3
            $0.diversityCandidates = 40
        }
        func meanDiversity(_ l: OnlineLearner) -> Double {
            let lists = Self.lists(l, k: 10)
            return lists.map { PrequentialEvaluator.intraListDiversity($0, factors: l.model.itemFactors) }
                .reduce(0, +) / Double(lists.count)
        }
        let before = meanDiversity(plain)
        let after = meanDiversity(diverse)
        #expect(after > before + 0.05, "diversity \(before) → \(after)")
        // Re-ranking only reorders candidates: still unconsumed, distinct, k long.
        for (u, list) in Self.lists(diverse, k: 10).enumerated() {
            #expect(list.count == 10 && Set(list.map(\.index)).count == 10)
            for s in list { #expect(!diverse.store.hasSeen(user: Int32(u), item: s.index)) }
        }
    }

    // MARK: Sequence-aware scoring

    @Test("sequence-aware model learns a planted item → successor transition better than plain MF")
    func sequenceAware() throws {
        var g = SyntheticLogConfig()
        g.users = 100
        g.items = 80
        g.events = 8000
        g.topics = 4
        g.sequentialProbability = 0.8
        g.seed = 5
        let generator = try SyntheticLogGenerator(config: g)
        let events = generator.generate()
        func successorHitRate(context: Int) throws -> (hits: Double, recall: Double) {
            var c = ModelConfig()
            c.factors = 16
            c.sequenceContext = context
            c.neighborWidth = 0  // the context vectors alone, without the item-neighbour blend
            var options = ReplayOptions()
            options.measureDiversity = false
            var session = try ReplaySession(config: c, options: options)
            let report = try session.run(events: events)
            let l = session.learner
            var hits = 0
            var asked = 0
            var selector = RankingPipeline()
            var out = [ScoredIndex]()
            var recent = [Int32]()
            for u in 0..<Int32(l.users.slotCount) {
                l.store.recentItems(of: u, into: &recent, limit: 1)
                guard let last = recent.first, let lastID = l.items.id(at: last),
                    let lastIndex = SyntheticLogGenerator.index(of: lastID),
                    let next = l.items.index(of: SyntheticLogGenerator.itemID(generator.successor[lastIndex])),
                    !l.store.hasSeen(user: u, item: next)
                else { continue }
                asked += 1
                l.recommend(userSlot: u, k: 5, pipeline: &selector, into: &out)
                if out.contains(where: { $0.index == next }) { hits += 1 }
            }
            return (Double(hits) / Double(max(asked, 1)), report.recall)
        }
        let plain = try successorHitRate(context: 0)
        let sequence = try successorHitRate(context: 1)
        #expect(sequence.hits > plain.hits + 0.2, "successor in top-5: plain \(plain.hits), sequence \(sequence.hits)")
        #expect(
            sequence.recall > plain.recall * 1.2,
            "prequential recall: plain \(plain.recall), sequence \(sequence.recall)"
        )
    }

    @Test("context SGD step moves the context vector along the user-side gradient")
    func contextGradient() throws {
        var c = ModelConfig()
        c.factors = 2
        c.loss = .isgd
        c.negatives = 0
        c.sequenceContext = 1
        c.useItemBias = false
        c.regularization = 0
        var m = MatrixFactorizationModel(config: c)
        m.ensureUser(0)
        m.ensureItem(1)
        m.setUserFactors(0, [0.5, -0.2])
        m.setItemFactors(0, [0.3, 0.4])
        m.setItemFactors(1, [0.1, 0.1])
        try m.learn(user: 0, item: 0, weight: 1, context: [1]) { _ in false }
        // Context vectors start at 0: q = u, err = 1 − u·v_0, Δc_1 = lr · err · v_0.
        let err: Float = 1 - (0.5 * 0.3 + -0.2 * 0.4)
        let row = m.contextFactors.row(1)
        #expect(abs(row[0] - 0.1 * err * 0.3) < 1e-6 && abs(row[1] - 0.1 * err * 0.4) < 1e-6)
        #expect(m.contextFactors.row(0) == [0, 0])
    }

    // MARK: Cold start

    @Test("TF-IDF cold-start init puts a new item next to its textual twin")
    func catalogInit() throws {
        var entries: [(item: String, tokens: [String])] = []
        for g in 0..<4 {
            for n in 0..<5 {
                entries.append(
                    (
                        "g\(g)-\(n)",
                        ItemCatalog.tokens(
                            attributes: ["genre": "g\(g)", "shade": "s\(n)"],
                            text: "words\(g) about group\(g) item\(n)"
                        )
                    )
                )
            }
        }
        entries.append(
            ("twin", ItemCatalog.tokens(attributes: ["genre": "g2", "shade": "s3"], text: "words2 about group2 item3"))
        )
        let catalog = ItemCatalog(entries: entries)
        #expect(catalog.similarity("twin", "g2-3") > 0.99)
        #expect(catalog.similarity("twin", "g2-0") > catalog.similarity("twin", "g1-3"))

        func train(catalog: ItemCatalog?) throws -> (OnlineLearner, Int32) {
            var c = ModelConfig()
            c.factors = 8
            c.coldStartNeighbors = 3
            var l = try OnlineLearner(config: c)
            l.attach(catalog: catalog)
            var rng = RandomSource(seed: 2)
            // Each group's fans consume that group's items: factors cluster by group.
            for t in 0..<6000 {
                let g = rng.nextInt(below: 4)
                try l.learn(
                    user: "fan\(g)-\(rng.nextInt(below: 5))",
                    item: "g\(g)-\(rng.nextInt(below: 5))",
                    timestamp: Int64(t),
                    weight: 1
                )
            }
            try l.learn(user: "fan2-0", item: "twin", timestamp: 6000, weight: 0)  // registers, no SGD
            return (l, try #require(l.items.index(of: "twin")))
        }
        func cosine(_ l: OnlineLearner, _ a: Int32, _ b: Int32) -> Float {
            let x = l.model.itemFactors.row(Int(a))
            let y = l.model.itemFactors.row(Int(b))
            let dot = zip(x, y).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            return dot / ((x.reduce(0) { $0 + $1 * $1 }).squareRoot() * (y.reduce(0) { $0 + $1 * $1 }).squareRoot())
        }
        let (l, twin) = try train(catalog: catalog)
        #expect(l.counters.catalogInitializedItems >= 1)  // group items arriving later are initialized too
        let twinOf = try #require(l.items.index(of: "g2-3"))
        let sameGroup = (0..<5).map { cosine(l, twin, l.items.index(of: "g2-\($0)")!) }
        let otherGroups = [0, 1, 3].flatMap { g in (0..<5).map { cosine(l, twin, l.items.index(of: "g\(g)-\($0)")!) } }
        #expect(cosine(l, twin, twinOf) > 0.9)
        #expect(sameGroup.min()! > otherGroups.max()!, "same \(sameGroup) other max \(otherGroups.max()!)")
        let (random, randomTwin) = try train(catalog: nil)
        #expect(cosine(random, randomTwin, random.items.index(of: "g2-3")!) < cosine(l, twin, twinOf))
    }

    @Test("cold-start users get recent popularity; unknown users get the recent window's most popular")
    func coldStartUsers() throws {
        var c = ModelConfig()
        c.factors = 4
        c.popularityWindow = 50
        c.coldStartUserEvents = 5
        c.coldStartPopularityWeight = 10
        var l = try OnlineLearner(config: c)
        // "old" was popular long ago, "new" is popular within the last 50 positives.
        for t in 0..<200 { try l.learn(user: "a\(t)", item: "old", timestamp: Int64(t), weight: 1) }
        for t in 0..<50 {
            try l.learn(user: "b\(t)", item: t % 2 == 0 ? "new" : "x\(t)", timestamp: Int64(200 + t), weight: 1)
        }
        #expect(l.recommend(user: "nobody", k: 1).first?.item == "new")
        try l.learn(user: "fresh", item: "x1", timestamp: 300, weight: 1)
        #expect(l.recommend(user: "fresh", k: 1).first?.item == "new")
        let fresh = try #require(l.users.index(of: "fresh"))
        let expected: Float = 10 * (1 - 1.0 / 5)
        #expect(l.coldStartWeight(user: fresh) == expected)
    }

    // MARK: Forgetting

    @Test("decayed popularity halves after one half-life and survives renormalization")
    func popularityHalfLife() throws {
        var c = ModelConfig()
        c.popularityHalfLife = 1000
        var m = MatrixFactorizationModel(config: c)
        m.advanceClock(to: 0)
        m.ensureItem(1)
        m.observe(item: 0, weight: 4)
        #expect(m.popularity(of: 0) == 4)
        m.advanceClock(to: 1000)
        #expect(abs(m.popularity(of: 0) - 2) < 1e-5)
        m.observe(item: 1, weight: 2)
        #expect(abs(m.popularity(of: 1) - 2) < 1e-5)
        m.advanceClock(to: 2000)
        #expect(abs(m.popularity(of: 0) - 1) < 1e-5 && abs(m.popularity(of: 1) - 1) < 1e-5)
        // 40 half-lives later the epoch has moved (renormalized), values are still right.
        m.advanceClock(to: 42_000)
        #expect(m.popularityEpoch == 42_000)
        #expect(abs(m.popularity(of: 0) / Float(exp2(-40.0)) - 1) < 1e-3)
    }

    @Test("factor decay shrinks an inactive user's and item's factors by 2^(−Δt/halfLife) on touch")
    func factorDecay() throws {
        var c = ModelConfig()
        c.factors = 2
        c.factorDecayHalfLife = 500
        var m = MatrixFactorizationModel(config: c)
        m.advanceClock(to: 0)
        m.ensureUser(0)
        m.ensureItem(0)
        m.setUserFactors(0, [0.8, -0.4])
        m.setItemFactors(0, [0.2, 0.6])
        m.touch(user: 0, lastSeen: 0, item: 0)
        m.advanceClock(to: 1000)  // two half-lives
        m.touch(user: 0, lastSeen: 0, item: 0)
        #expect(m.userFactors.row(0) == [0.2, -0.1])
        #expect(m.itemFactors.row(0) == [0.05, 0.15])
        #expect(m.itemLastSeen[0] == 1000)
    }

    @Test("TTL removes inactive users and items and frees their slots for reuse")
    func ttl() throws {
        var c = ModelConfig()
        c.factors = 4
        c.userTTL = 100
        c.itemTTL = 100
        var l = try OnlineLearner(config: c)
        try l.learn(user: "u0", item: "a", timestamp: 0, weight: 1)
        try l.learn(user: "u1", item: "b", timestamp: 50, weight: 1)
        #expect(l.users.count == 2 && l.items.count == 2)
        try l.learn(user: "u2", item: "c", timestamp: 300, weight: 1)
        #expect(l.users.count == 1 && l.items.count == 1)
        #expect(l.users.index(of: "u0") == nil && l.items.index(of: "a") == nil)
        #expect(l.counters.userExpirations == 2 && l.counters.itemExpirations == 2)
        #expect(l.users.slotCount == 2 && l.items.slotCount == 2)  // u2 and c reused freed slots
        try l.learn(user: "u3", item: "d", timestamp: 310, weight: 1)
        #expect(l.users.slotCount == 2 && l.items.slotCount == 2)
        let u3 = try #require(l.users.index(of: "u3"))
        #expect(l.store.seenCount(of: u3) == 1 && l.store.eventCounts[Int(u3)] == 1)
        let d = try #require(l.items.index(of: "d"))
        #expect(l.model.popularity(of: d) == 1)
    }

    // MARK: Tuning

    @Test("tune returns the best config of its grid on a tiny log")
    func tune() throws {
        let events = try ReplayTests.plantedLog(events: 1500)
        var search = HyperparameterSearch()
        search.space.factors = [4, 16]
        search.space.learningRates = [0.1]
        search.space.regularizations = [0.01]
        search.space.negatives = [1, 4]
        search.space.losses = [.bpr]
        search.strategy = .grid
        search.prefix = 0.5
        search.options.measureDiversity = false
        let trials = try search.run(events: events, base: ModelConfig())
        // The 4 grid points plus the base config (the current settings), evaluated first.
        #expect(trials.count == 5)
        #expect(trials.filter(\.isBase).map(\.config) == [ModelConfig()])
        #expect(trials.first(where: \.isBase)?.index == 0)
        #expect(zip(trials, trials.dropFirst()).allSatisfy { $0.score >= $1.score })
        // Independent replays agree with the search and its winner.
        var best = -1.0
        for index in -1..<4 {
            let c = index < 0 ? ModelConfig() : search.space.config(at: index, base: ModelConfig())
            var s = try ReplaySession(config: c, options: search.options)
            let r = try s.run(events: Array(events.prefix(750)))
            best = max(best, r.recall)
            #expect(trials.first { $0.config == c }?.score == r.recall)
        }
        #expect(trials[0].score == best)
        // Random search: a fixed seed gives the same distinct candidates.
        search.strategy = .random(trials: 3, seed: 9)
        #expect(search.candidateIndices() == search.candidateIndices())
        #expect(Set(search.candidateIndices()).count == 3)
        // Several seeds: the score is their mean and the spread their standard deviation.
        search.strategy = .grid
        search.seeds = 3
        search.space.factors = [4]
        search.space.negatives = [1]
        let seeded = try search.run(events: events, base: ModelConfig())
        let point = try #require(seeded.first { !$0.isBase })
        #expect(point.scores.count == 3)
        let mean = point.scores.reduce(0, +) / 3
        #expect(abs(point.score - mean) < 1e-12)
        // Sample standard deviation; the seeds give different models, so it is not 0.
        let sampleVariance = point.scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 2
        #expect(abs(point.spread - sampleVariance.squareRoot()) < 1e-12)
        #expect(point.spread > 0, "\(point.scores)")
        var again = search.space.config(at: 0, base: ModelConfig())
        again.seed &+= 2
        var s2 = try ReplaySession(config: again, options: search.options)
        #expect(try s2.run(events: Array(events.prefix(750))).recall == point.scores[2])
    }

    // MARK: Config

    @Test(
        "beyond-MF fields round-trip; all but sequence context default to off; every field is in the fingerprint JSON"
    )
    func configCompatibility() throws {
        let d = ModelConfig()
        #expect(d.canonicalJSON.contains("\"sequenceContext\":3") && d.canonicalJSON.contains("explorationEpsilon"))
        #expect(
            d.explorationEpsilon == 0 && d.uncertaintyBonus == 0 && d.diversityLambda == 1 && d.sequenceContext == 3
                && d.coldStartUserEvents == 0 && d.popularityHalfLife == 0 && d.factorDecayHalfLife == 0
                && d.userTTL == 0
        )
        var c = d
        c.sequenceContext = 0
        c.explorationEpsilon = 0.1
        c.userTTL = 5000
        let back = try JSONDecoder().decode(ModelConfig.self, from: Data(c.canonicalJSON.utf8))
        #expect(back == c && back.fingerprint == c.fingerprint && c.fingerprint != d.fingerprint)
        var bad = d
        bad.diversityLambda = 1.5
        #expect(throws: ConfigError.self) { try bad.validate() }
        bad = d
        bad.sequenceContext = d.historyLength
        #expect(throws: ConfigError.self) { try bad.validate() }
    }
}

extension MatrixFactorizationModel {
    /// The same state under another config whose differences are ranking-only (tests).
    func withConfig(_ c: ModelConfig) -> MatrixFactorizationModel {
        var w = BinaryWriter()
        encode(into: &w)
        var r = BinaryReader(w.bytes)
        return try! MatrixFactorizationModel.decode(from: &r, config: c)
    }
}
