import Testing

@testable import StreamRecCore

@Suite("Incremental snapshot capture of the factor matrices")
struct IncrementalSnapshotTests {
    func config() -> ModelConfig {
        var c = ModelConfig()
        c.factors = 12
        c.sequenceContext = 2  // context rows are written too
        c.factorDecayHalfLife = 500_000  // decay on touch writes rows outside the SGD step
        c.maxUsers = 40  // evictions reset reused user and item slots
        c.maxItems = 150
        return c
    }

    func feed(_ l: inout OnlineLearner, from: Int, to: Int) throws {
        var rng = RandomSource(seed: UInt64(from))
        for t in from..<to {
            _ = try l.learn(
                user: "u\(rng.nextInt(below: 60))",
                item: "i\(rng.nextInt(below: 220))",
                timestamp: Int64(t) * 1000,
                weight: 1
            )
        }
    }

    @Test("after each capture the shadows equal the live matrices, copying only changed and new rows")
    func captureEqualsLive() throws {
        var l = try OnlineLearner(config: config())
        try feed(&l, from: 0, to: 400)
        var shadows = FactorShadows(of: &l.model)
        #expect(shadows.users.copy == l.model.userFactors && shadows.items.copy == l.model.itemFactors)
        for round in 0..<4 {
            try feed(&l, from: 400 + round * 30, to: 430 + round * 30)
            let copied = shadows.capture(from: &l.model)
            #expect(shadows.users.copy == l.model.userFactors)
            #expect(shadows.items.copy == l.model.itemFactors)
            #expect(shadows.context.copy == l.model.contextFactors)
            let total = l.model.userFactors.rows + l.model.itemFactors.rows + l.model.contextFactors.rows
            #expect(copied > 0 && copied < total)  // 30 events touch far fewer rows than exist
        }
        #expect(shadows.capture(from: &l.model) == 0)  // nothing written since
    }

    @Test("a snapshot copy from the shadows equals the learner; a restored model is re-copied in full")
    func snapshotCopyAndRestore() throws {
        var l = try OnlineLearner(config: config())
        try feed(&l, from: 0, to: 300)
        var shadows = FactorShadows(of: &l.model)
        try feed(&l, from: 300, to: 340)
        shadows.capture(from: &l.model)
        #expect(l.snapshotCopy(factorsFrom: shadows) == l)
        // A restore replaces the learner, its matrices untracked: the next capture copies them whole.
        var other = try OnlineLearner(config: config())
        try feed(&other, from: 1_000, to: 1_200)
        l = other
        let copied = shadows.capture(from: &l.model)
        #expect(copied == l.model.userFactors.rows + l.model.itemFactors.rows + l.model.contextFactors.rows)
        #expect(shadows.users.copy == l.model.userFactors && shadows.items.copy == l.model.itemFactors)
        try feed(&l, from: 1_200, to: 1_230)
        #expect(shadows.capture(from: &l.model) < l.model.userFactors.rows + l.model.itemFactors.rows)
        #expect(l.snapshotCopy(factorsFrom: shadows) == l)
    }

    @Test("change tracking does not change what is learned")
    func trackingIsInvisible() throws {
        var tracked = try OnlineLearner(config: config())
        var plain = try OnlineLearner(config: config())
        _ = FactorShadows(of: &tracked.model)
        try feed(&tracked, from: 0, to: 600)
        try feed(&plain, from: 0, to: 600)
        #expect(tracked.model == plain.model)
        #expect(tracked.model.userFactors.isTrackingChanges && !plain.model.userFactors.isTrackingChanges)
    }

    @Test("the change set reports each marked row once, in order, and empties")
    func changeSet() {
        var set = RowChangeSet()
        for r in [130, 3, 64, 3, 0, 63] { set.insert(r) }
        #expect(set.count == 5 && set.contains(64) && !set.contains(65))
        var seen: [Int] = []
        set.drain { seen.append($0) }
        #expect(seen == [0, 3, 63, 64, 130])
        #expect(set.count == 0 && !set.contains(3))
    }
}
