import Testing

@testable import StreamRecCore

@Suite("Approximate ranking (IVF item index)")
struct ItemIndexTests {
    /// The index is built at 1,024 items here (4,096 by default) to keep the tests fast.
    static let threshold = 1024
    static let items = 1300

    /// Users with clustered tastes (so factors cluster, as learned factors do), every item seen once.
    static func learn(_ l: inout OnlineLearner, events: Range<Int>, items: Int = ItemIndexTests.items) {
        var rng = RandomSource(seed: 11)
        for _ in 0..<events.lowerBound {
            _ = rng.next()
            _ = rng.next()
        }
        for t in events {
            let r1 = rng.next()
            let r2 = rng.next()
            let u = Int(r1 % 150)
            // Item t for the first pass (every item exists), then items from the user's taste cluster.
            let i = t < items ? t : (u % 16) * (items / 16) + Int(r2 % UInt64(items / 16))
            _ = try? l.learn(user: "u\(u)", item: "i\(i)", timestamp: Int64(t), weight: 1)
        }
    }

    static func learner(
        ranking: RankingMode,
        sequence: Int = 0,
        neighbors: Int = 0,
        events: Int = 5_000
    ) throws -> OnlineLearner {
        var c = ModelConfig()
        c.factors = 12  // not a multiple of 8: exercises padding of the augmented points
        c.sequenceContext = sequence
        c.neighborWidth = neighbors
        var l = try OnlineLearner(config: c)
        l.setRanking(ranking, buildThreshold: threshold)
        learn(&l, events: 0..<events)
        return l
    }

    /// Checks that every item sits in exactly the list its assignment names, at its recorded position.
    static func checkInvariants(_ index: ItemIndex, items: Int) {
        #expect(index.itemCount == items)
        var seen = [Int](repeating: 0, count: items)
        for l in 0..<index.listCount {
            for (p, m) in index.members(ofList: l).enumerated() {
                seen[Int(m)] += 1
                #expect(index.list(ofItem: Int(m)) == l)
                #expect(Int(index.position[Int(m)]) == p)
            }
        }
        #expect(seen.allSatisfy { $0 == 1 })
    }

    /// Fraction of items whose list is their nearest centroid by a full scan.
    static func nearestFraction(_ l: OnlineLearner) -> Double {
        let index = l.model.itemIndex!
        let k = l.config.factors
        var nearest = 0
        l.model.itemFactors.withUnsafeBufferPointer { V in
            var x = [Float](repeating: 0, count: index.pointStride)
            for i in 0..<l.model.itemCount {
                for c in 0..<k { x[c] = V[i * l.model.itemFactors.stride + c] }
                x[k] = l.model.itemBias[i]
                if x.withUnsafeBufferPointer({ index.nearest($0.baseAddress!) }) == index.list(ofItem: i) {
                    nearest += 1
                }
            }
        }
        return Double(nearest) / Double(l.model.itemCount)
    }

    @Test(
        "approximate lists: high overlap with exact, exact scores, sorted, consumed items excluded",
        arguments: [(0, 0), (3, 0), (3, 128)]
    )
    func overlapAndExactScores(sequence: Int, neighbors: Int) throws {
        let l = try Self.learner(ranking: .approximate, sequence: sequence, neighbors: neighbors)
        let index = try #require(l.model.itemIndex)
        #expect(index.isBuilt && index.listCount >= 8)
        var selector = RankingPipeline()
        var approx = [ScoredIndex]()
        var exact = [ScoredIndex]()
        var overlap = 0.0
        let users = l.users.slotCount
        for u in 0..<Int32(users) {
            l.recommend(userSlot: u, k: 10, pipeline: &selector, into: &approx)
            l.recommend(userSlot: u, k: 10, pipeline: &selector, into: &exact, exact: true)
            #expect(approx.count == 10)
            overlap += RankingPipeline.overlap(approx, exact)
            var recent = [Int32]()
            l.store.recentItems(of: u, into: &recent, limit: sequence)
            for (n, s) in approx.enumerated() {
                #expect(!l.store.hasSeen(user: u, item: s.index))
                if neighbors == 0 {
                    #expect(abs(s.score - l.model.score(user: u, item: s.index, context: recent)) < 1e-4)
                } else if let e = exact.first(where: { $0.index == s.index }) {
                    // With the neighbour blend the exact score includes the blend terms: both paths agree.
                    #expect(abs(s.score - e.score) < 1e-4)
                }
                if n > 0 { #expect(approx[n - 1].ranks(above: s)) }
            }
        }
        #expect(overlap / Double(users) >= 0.9)
    }

    @Test("probing every list reproduces exact ranking")
    func allListsIsExact() throws {
        var l = try Self.learner(ranking: .approximate)
        l.setRanking(.approximate, probes: 1_000_000)
        var selector = RankingPipeline()
        var approx = [ScoredIndex]()
        var exact = [ScoredIndex]()
        for u in 0..<Int32(l.users.slotCount) {
            l.recommend(userSlot: u, k: 20, pipeline: &selector, into: &approx)
            l.recommend(userSlot: u, k: 20, pipeline: &selector, into: &exact, exact: true)
            #expect(approx == exact)
        }
    }

    @Test("incremental maintenance keeps lists consistent and current as vectors move and items arrive")
    func incremental() throws {
        var l = try Self.learner(ranking: .approximate)
        let builtAt = try #require(l.model.itemIndex).builtAt
        Self.checkInvariants(l.model.itemIndex!, items: l.model.itemCount)
        // More learning moves vectors; new items arrive after the build.
        Self.learn(&l, events: 5_000..<8_000)
        for j in 0..<200 { try l.learn(user: "u\(j % 150)", item: "new\(j)", timestamp: 20_000 + Int64(j), weight: 1) }
        let index = try #require(l.model.itemIndex)
        #expect(index.builtAt == builtAt)  // below the doubling milestone: no rebuild
        Self.checkInvariants(index, items: l.model.itemCount)
        // Lanes hold current vectors: probing everything equals exact ranking.
        l.setRanking(.approximate, probes: 1_000_000)
        var selector = RankingPipeline()
        var approx = [ScoredIndex]()
        var exact = [ScoredIndex]()
        for u in stride(from: Int32(0), to: Int32(l.users.slotCount), by: 7) {
            l.recommend(userSlot: u, k: 10, pipeline: &selector, into: &approx)
            l.recommend(userSlot: u, k: 10, pipeline: &selector, into: &exact, exact: true)
            #expect(approx == exact)
        }
        // The greedy walk keeps most moved items in the list of their nearest centroid (measured 0.71 here,
        // where items move far from their random start; a build assigns every item to its nearest).
        #expect(Self.nearestFraction(l) >= 0.6)
        l.setRanking(.exact)
        l.setRanking(.approximate, buildThreshold: Self.threshold)
        #expect(Self.nearestFraction(l) == 1)
    }

    @Test("small catalogs and exact mode rank exactly")
    func smallCatalogFallsBack() throws {
        var c = ModelConfig()
        c.factors = 8
        var l = try OnlineLearner(config: c)
        l.setRanking(.approximate, buildThreshold: 1024)
        Self.learn(&l, events: 0..<600, items: 500)
        #expect(l.model.itemIndex?.isBuilt == false)
        var selector = RankingPipeline()
        var a = [ScoredIndex]()
        var e = [ScoredIndex]()
        l.recommend(userSlot: 3, k: 10, pipeline: &selector, into: &a)
        l.recommend(userSlot: 3, k: 10, pipeline: &selector, into: &e, exact: true)
        #expect(a == e)
        l.setRanking(.exact)
        #expect(l.model.itemIndex == nil && l.model.ranking == .exact)
    }

    @Test("the index is snapshot state: resume equals an uninterrupted run, before and after the build")
    func deterministicResume() throws {
        var straight = try Self.learner(ranking: .approximate, events: 0)
        Self.learn(&straight, events: 0..<4_000)
        for cut in [800, 2_500] {  // before the index exists, and after it was built
            var first = try Self.learner(ranking: .approximate, events: 0)
            Self.learn(&first, events: 0..<cut)
            let bytes = SnapshotCodec.encode(
                LearnerSnapshot(learner: first, position: SourcePosition(eventsConsumed: Int64(cut)), createdAt: 0)
            )
            var resumed = try SnapshotCodec.decode(bytes).learner
            #expect(resumed == first)
            #expect(resumed.model.itemIndex == first.model.itemIndex)
            resumed.setRanking(.approximate)
            Self.learn(&resumed, events: cut..<4_000)
            #expect(resumed == straight)
            #expect(resumed.model.itemIndex == straight.model.itemIndex)
            #expect(resumed.model.itemIndex?.isBuilt == true)
            var s1 = RankingPipeline()
            var s2 = RankingPipeline()
            var a = [ScoredIndex]()
            var b = [ScoredIndex]()
            for u in 0..<Int32(straight.users.slotCount) {
                straight.recommend(userSlot: u, k: 10, pipeline: &s1, into: &a)
                resumed.recommend(userSlot: u, k: 10, pipeline: &s2, into: &b)
                #expect(a == b)
            }
        }
    }

    @Test("a corrupt index extension is rejected")
    func corruptIndex() throws {
        let l = try Self.learner(ranking: .approximate, events: 2_000)
        var model = l.model
        var w = BinaryWriter()
        l.model.itemIndex!.encode(into: &w)
        var bytes = w.bytes
        bytes.removeLast(4)  // drop an assignment entry
        #expect(throws: BinaryReader.Failure.self) { try model.factors.restoreIndex(from: bytes) }
    }
}

@Suite("Popularity fallback prefix")
struct PopularityLeadersTests {
    /// Unknown-user lists from the maintained prefix equal a full popularity scan, through growth,
    /// evictions (item cap) and more items than the prefix holds.
    @Test("unknown users get the exact popularity top-K", arguments: [10, 200])
    func matchesFullScan(k: Int) throws {
        var c = ModelConfig()
        c.factors = 8
        c.maxItems = 400  // forces evictions (slot resets) of least recently used items
        var l = try OnlineLearner(config: c)
        var rng = RandomSource(seed: 3)
        var selector = RankingPipeline()
        var out = [ScoredIndex]()
        for t in 0..<6_000 {
            let r = rng.nextUnitDouble()
            _ = try? l.learn(
                user: "u\(rng.nextInt(below: 50))",
                item: "i\(Int(900 * r * r))",
                timestamp: Int64(t),
                weight: 1
            )
            guard t % 97 == 0 else { continue }
            l.recommend(userSlot: nil, k: k, pipeline: &selector, into: &out)
            var all = [ScoredIndex]()
            for i in 0..<Int32(l.model.itemCount) where l.items.isLive(i) {
                all.append(ScoredIndex(index: i, score: l.model.itemPopularity[Int(i)]))
            }
            all.sort { $0.ranks(above: $1) }
            #expect(out == Array(all.prefix(k)))
        }
        #expect(l.counters.itemEvictions > 0)
        #expect(l.model.statistics.leaders.slots.count >= 10)
    }
}
