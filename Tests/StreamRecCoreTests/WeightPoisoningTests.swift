import StreamRecCore
import Testing

/// One schema-valid event with the largest accepted weight must not take over lists.
@Suite("weight poisoning")
struct WeightPoisoningTests {
    /// Users whose #1 recommendation is `item` after `learner` learned one extra event for it with `weight`.
    static func topOneCount(after weight: Float?, item: String, weights: EventWeights) throws -> Int {
        var c = SyntheticLogConfig()
        c.users = 400
        c.items = 300
        c.events = 12_000
        c.topics = 8
        c.seed = 11
        let events = try SyntheticLogGenerator.generate(c)
        var learner = try OnlineLearner(config: ModelConfig())
        for e in events {
            _ = try? learner.learn(
                user: e.user,
                item: e.item,
                timestamp: e.timestamp,
                weight: weights.effectiveWeight(e)
            )
        }
        // A producer-side weight (no type): a `rating` would count 1 anyway (``EventWeights/WeightSource/auto``).
        let attack = Event(user: "attacker", item: item, timestamp: events.last!.timestamp + 1, weight: weight)
        _ = try? learner.learn(
            user: attack.user,
            item: attack.item,
            timestamp: attack.timestamp,
            weight: weights.effectiveWeight(attack)
        )
        var count = 0
        for u in 0..<c.users {
            let user = "u\(u)"
            if learner.recommend(user: user, k: 1).first?.item == item { count += 1 }
        }
        return count
    }

    @Test("a weight-1000 event moves no more lists than a handful of ordinary events")
    func boundedInfluence() throws {
        let weights = EventWeights()
        let item = "i299"  // among the least popular items of the skewed catalog
        let ordinary = try Self.topOneCount(after: 1, item: item, weights: weights)
        let poisoned = try Self.topOneCount(after: 1000, item: item, weights: weights)
        // The cap makes the heaviest event count as `maxExplicitWeight` ordinary ones, not 1000.
        #expect(
            poisoned <= ordinary + 400 / 50,
            "weight 1000 made \(item) #1 for \(poisoned) of 400 users (weight 1: \(ordinary))"
        )
        // Without the cap (the behaviour before it), the same event takes over lists: the check above
        // is not vacuous.
        let uncapped = try Self.topOneCount(
            after: 1000,
            item: item,
            weights: EventWeights(maxExplicitWeight: .infinity)
        )
        #expect(uncapped > poisoned + 400 / 50, "uncapped weight 1000: \(uncapped) of 400 users; capped: \(poisoned)")
        print(
            "weight poisoning: #1 for \(ordinary) users after weight 1, \(poisoned) after capped weight 1000, \(uncapped) uncapped"
        )
    }

    @Test("explicit weights are capped; type weights and small ratings are unchanged")
    func rule() {
        let w = EventWeights()
        func weight(_ explicit: Float?, _ type: String? = nil) -> Float {
            w.effectiveWeight(Event(user: "u", item: "i", timestamp: 0, type: type, weight: explicit))
        }
        #expect(weight(1000) == EventWeights.defaultMaxExplicitWeight)
        #expect(weight(4.5) == 4.5 && weight(10) == 10 && weight(nil, "purchase") == 5)
    }
}
