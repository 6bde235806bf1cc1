import Testing

@testable import StreamRecCore

@Suite("Id dictionaries and the user store")
struct StoreTests {
    @Test("least recently active id is evicted at the cap and its slot reused")
    func lruEviction() {
        var d = IdDictionary(capacity: 3)
        _ = d.touch("a")
        _ = d.touch("b")
        _ = d.touch("c")
        _ = d.touch("a")  // b is now least recent
        let t = d.touch("d")
        #expect(t.isNew && t.evictedId == "b" && t.index == 1)
        #expect(d.index(of: "b") == nil && d.count == 3 && d.evictions == 1)
        #expect(d.slotsByRecency().map { d.id(at: $0)! } == ["c", "a", "d"])
        d.remove("c")
        let e = d.touch("e")
        #expect(e.index == 2 && e.evictedId == nil)
    }

    @Test("learner caps users and items and counts evictions")
    func learnerCaps() throws {
        var c = ModelConfig()
        c.maxUsers = 10
        c.maxItems = 20
        c.factors = 4
        var l = try OnlineLearner(config: c)
        for t in 0..<1000 { try l.learn(user: "u\(t)", item: "i\(t % 57)", timestamp: Int64(t), weight: 1) }
        #expect(l.users.count == 10 && l.items.count == 20)
        #expect(l.model.userCount == 10 && l.model.itemCount == 20)
        #expect(l.counters.userEvictions == 990)
        #expect(l.counters.itemEvictions == 1000 - 20)
        #expect(l.store.slotCount == 10)
    }

    @Test("history ring keeps the last N events, most recent first")
    func historyRing() {
        var s = UserHistoryStore(historyLength: 3, maxSeenPerUser: 4)
        s.ensureSlot(0)
        for (t, item) in [5, 6, 7, 8, 6].enumerated() { s.record(user: 0, item: Int32(item), timestamp: Int64(t)) }
        var buf = [Int32]()
        s.recentItems(of: 0, into: &buf)
        #expect(buf == [6, 8, 7])
        #expect(s.eventCounts[0] == 5 && s.lastSeen[0] == 4 && s.firstSeen[0] == 0)
        #expect(s.seenItems(of: 0) == [5, 6, 7, 8])
        s.record(user: 0, item: 9, timestamp: 9)  // seen-set bound: 5 is forgotten
        #expect(s.seenItems(of: 0) == [6, 7, 8, 9] && !s.hasSeen(user: 0, item: 5))
        s.reset(0)
        #expect(s.seenCount(of: 0) == 0 && s.historyCount(of: 0) == 0 && !s.hasSeen(user: 0, item: 9))
    }

    @Test("pair set agrees with Set under random inserts and removals")
    func pairSetModel() {
        var p = PairSet(minimumCapacity: 4)
        var reference = Set<UInt64>()
        var rng = RandomSource(seed: 11)
        for _ in 0..<20_000 {
            let u = Int32(rng.nextInt(below: 40))
            let i = Int32(rng.nextInt(below: 40))
            if rng.nextInt(below: 3) == 0 {
                p.remove(u, i)
                reference.remove(PairSet.key(u, i))
            } else {
                #expect(p.insert(u, i) == reference.insert(PairSet.key(u, i)).inserted)
            }
        }
        #expect(p.count == reference.count)
        for u in Int32(0)..<40 {
            for i in Int32(0)..<40 { #expect(p.contains(u, i) == reference.contains(PairSet.key(u, i))) }
        }
    }
}

@Suite("seen-set cap")
struct SeenSetCapTests {
    @Test("forgetting is counted, and the default leaves room for heavy real users")
    func counted() throws {
        #expect(ModelConfig().maxSeenPerUser >= 10_000)
        var config = ModelConfig()
        config.maxSeenPerUser = 3
        var learner = try OnlineLearner(config: config)
        for (t, item) in ["a", "b", "c", "d", "e"].enumerated() {
            try learner.learn(user: "u", item: item, timestamp: Int64(t), weight: 1)
        }
        #expect(learner.counters.seenForgotten == 2)
        // "a" was forgotten: consuming it again counts as new, and is counted as forgetting again.
        let again = try learner.learn(user: "u", item: "a", timestamp: 9, weight: 1)
        #expect(!again.isRepeat)
        #expect(learner.counters.seenForgotten == 3)
        let repeated = try learner.learn(user: "u", item: "e", timestamp: 10, weight: 1)
        #expect(repeated.isRepeat && learner.counters.seenForgotten == 3)
    }
}
