import Foundation
import Testing

@testable import StreamRecCore

@Suite("Off-policy estimators")
struct OffPolicyEstimatorTests {
    typealias Slot = OffPolicyEstimators.Slot
    typealias Logged = OffPolicyEstimators.LoggedList

    @Test("IPS, SNIPS and DR follow their definitions on a hand-built log")
    func handComputed() {
        // List 1: slot 0 matches the target (p 0.5) and is hit; slot 1 doesn't match.
        // List 2: slot 0 matches (p 0.8), no hit; slot 1 matches (p 0.25) and is hit.
        let lists = [
            Logged(
                slots: [
                    Slot(loggingPropensity: 0.5, targetProbability: 1, reward: 1, predictedReward: 0.2),
                    Slot(loggingPropensity: 0.1, targetProbability: 0, reward: 0, predictedReward: 0.1),
                ],
                targetPredictedReward: 0.3,
                targetSize: 2
            ),
            Logged(
                slots: [
                    Slot(loggingPropensity: 0.8, targetProbability: 1, reward: 0, predictedReward: 0.2),
                    Slot(loggingPropensity: 0.25, targetProbability: 1, reward: 1, predictedReward: 0.5),
                ],
                targetPredictedReward: 0.7,
                targetSize: 2
            ),
        ]
        let ips = OffPolicyEstimators.ips(lists)
        #expect(abs(ips.value - (2 + 4) / 2.0) < 1e-12)  // terms 2·1 and 1.25·0 + 4·1
        #expect(abs(ips.standardError - 1) < 1e-12)  // sd of {2, 4} = √2, / √2
        #expect(abs(ips.lower - (3 - OffPolicyEstimators.z95)) < 1e-12)
        // SNIPS: (2 + 4) / (Σw/c) = 6 / ((2 + 0)/2 + (1.25 + 4)/2).
        let snips = OffPolicyEstimators.snips(lists)
        #expect(abs(snips.value - 6 / (1 + 2.625)) < 1e-12)
        // DR terms: 0.3 + 2·(1 − 0.2) = 1.9; 0.7 + 1.25·(0 − 0.2) + 4·(1 − 0.5) = 2.45.
        let dr = OffPolicyEstimators.doublyRobust(lists)
        #expect(abs(dr.value - (1.9 + 2.45) / 2) < 1e-12)
        // Normalized weights 1 and 2.625: ESS = 3.625² / (1 + 2.625²).
        #expect(abs(OffPolicyEstimators.effectiveSampleSize(lists) - 3.625 * 3.625 / (1 + 2.625 * 2.625)) < 1e-12)
    }

    /// A small slate bandit with known truth: users prefer items by θ_u, the next interaction y ~ θ_u (it
    /// doesn't react to the list, as in a replayed log), the logging policy is ε-greedy over a noisy
    /// ranking exactly like the product's, the target is another deterministic noisy ranking.
    struct Bandit {
        let users = 30, items = 40, k = 4, epsilon = 0.3
        var theta: [[Double]] = []
        var greedy: [[Int32]] = []
        var target: [[Int32]] = []
        var truth = 0.0

        init(seed: UInt64) {
            var rng = RandomSource(seed: seed)
            func topK(_ scores: [Double]) -> [Int32] {
                Array(scores.indices.sorted { scores[$0] > scores[$1] }.prefix(k)).map { Int32($0) }
            }
            for _ in 0..<users {
                let w = (0..<items).map { _ in exp(1.5 * Double(rng.nextGaussian())) }
                let total = w.reduce(0, +)
                let t = w.map { $0 / total }
                theta.append(t)
                greedy.append(topK(t.map { $0 * exp(0.5 * Double(rng.nextGaussian())) }))
                target.append(topK(t.map { $0 * exp(0.5 * Double(rng.nextGaussian())) }))
            }
            truth = (0..<users).map { u in target[u].reduce(0) { $0 + theta[u][Int($1)] } }.reduce(0, +) / Double(users)
        }

        /// `count` logged lists; DR's reward model is deliberately off (0.7 θ + 0.01).
        func log(count: Int, seed: UInt64) -> [Logged] {
            var rng = RandomSource(seed: seed)
            return (0..<count).map { _ in
                let u = rng.nextInt(below: users)
                var list = greedy[u]
                for s in 0..<k where rng.nextUnitDouble() < epsilon {  // the product's explore step
                    for _ in 0..<16 {
                        let j = Int32(rng.nextInt(below: items))
                        if !list.contains(j) {
                            list[s] = j
                            break
                        }
                    }
                }
                // Item-level units: membership propensities, target probability 1 for the target's items.
                let p = ExplorationPropensity.listProbabilities(
                    epsilon: epsilon,
                    greedy: greedy[u],
                    list: list,
                    valid: items - k,
                    slots: items
                )
                // Next interaction y ~ θ_u.
                var x = rng.nextUnitDouble()
                var y = items - 1
                for (i, t) in theta[u].enumerated() {
                    x -= t
                    if x < 0 {
                        y = i
                        break
                    }
                }
                let q = { (i: Int32) in 0.7 * theta[u][Int(i)] + 0.01 }
                return Logged(
                    slots: (0..<k).map { s in
                        Slot(
                            loggingPropensity: p[s],
                            targetProbability: target[u].contains(list[s]) ? 1 : 0,
                            reward: Int(list[s]) == y ? 1 : 0,
                            predictedReward: q(list[s])
                        )
                    },
                    targetPredictedReward: target[u].reduce(0) { $0 + q($1) },
                    targetSize: Double(k)
                )
            }
        }
    }

    @Test("95% intervals of IPS, SNIPS and DR cover the true hit rate of the target in ≥ 90% of 50 seeds")
    func coverage() {
        var covered: [String: Int] = [:]
        var absErrors: [String: Double] = [:]
        for seed in 1...UInt64(50) {
            let bandit = Bandit(seed: seed)
            for e in OffPolicyEstimators.all(bandit.log(count: 4000, seed: seed &* 7919)) {
                if e.covers(bandit.truth) { covered[e.estimator, default: 0] += 1 }
                absErrors[e.estimator, default: 0] += abs(e.value - bandit.truth) / 50
            }
        }
        for name in ["IPS", "SNIPS", "DR"] {
            #expect(
                covered[name, default: 0] >= 45,
                "\(name) covered \(covered[name, default: 0])/50, mean |error| \(absErrors[name] ?? 0)"
            )
        }
    }

    @Test("the join: outcome = the user's next event after the source offset; repeats, gaps and targets counted")
    func join() throws {
        func list(_ user: String, _ offset: Int64, _ items: [(String, Double?)]) -> RecommendationList {
            RecommendationList(
                user: user,
                items: items.map { ScoredItem(item: $0.0, score: 1, listPropensity: $0.1) },
                modelVersion: "v",
                timestamp: 0,
                sourceOffset: SourceOffset(topic: "events", partition: 0, offset: offset)
            )
        }
        let events = [("a", "x"), ("b", "y"), ("a", "z"), ("b", "y"), ("a", "w")].map {
            Event(user: $0.0, item: $0.1, timestamp: 0)
        }
        let logged = [
            list("a", 0, [("z", 0.9), ("q", 0.1)]),  // outcome: event 2 (a, z) → slot 0 hit
            list("b", 1, [("x", 0.9), ("q", 0.1)]),  // outcome: event 3 (b, y) is a repeat → skipped
            list("a", 2, [("q", 0.9), ("w", 0.05)]),  // outcome: event 4 (a, w) → slot 1 hit
            list("a", 4, [("q", 0.9)]),  // no later event of a
            list("b", 0, [("q", nil)]),  // no propensities
            list("c", 0, [("q", 0.5)]),  // user never acts
        ]
        let target = [list("a", 0, [("z", nil), ("y", nil)]), list("a", 2, [("q", nil), ("w", nil)])]
        let (lists, stats) = OffPolicyLog.join(logged: logged, target: target, events: events)
        #expect(stats.lists == 6 && stats.used == 2 && stats.repeatOutcomes == 1 && stats.withoutOutcome == 2)
        #expect(stats.withoutPropensities == 1 && stats.withoutTarget == 0 && stats.loggedHitRate == 1)
        #expect(lists.map { $0.slots.map(\.reward) } == [[1, 0], [0, 1]])
        #expect(lists.map { $0.slots.map(\.targetProbability) } == [[1, 0], [1, 1]])
        #expect(abs(OffPolicyEstimators.ips(lists).value - (1 / 0.9 + 1 / 0.05) / 2) < 1e-12)
    }

    /// The whole product path (real learner, propensities, replay lists, join) against a replayed truth. The
    /// target is greedy MF: targets that list items the logging policy rarely shows (MMR, popularity) put
    /// the estimate on a handful of hits with weights near 100, where one log of a few thousand lists can miss
    /// (docs/evaluation.md; ``OffPolicyEstimators/effectiveSampleSize(_:)`` flags it).
    @Test("on a replayed log, estimates from ε-greedy MF lists cover the replayed recall of greedy MF")
    func replayedTargets() throws {
        let events = try ReplayTests.plantedLog(events: 5000)
        var options = ReplayOptions()
        options.measureDiversity = false
        options.aucSamples = 0
        func replay(_ configure: (inout ModelConfig) -> Void) throws -> (lists: [RecommendationList], recall: Double) {
            var config = ModelConfig()
            config.factors = 16
            configure(&config)
            var lists: [RecommendationList] = []
            var session = try ReplaySession(config: config, options: options)
            let report = try session.run(events: events, lists: { lists.append($0) })
            return (lists, report.recall)
        }
        let logged = try replay { $0.explorationEpsilon = 0.3 }
        #expect(logged.lists.allSatisfy { $0.items.allSatisfy { $0.propensity != nil && $0.listPropensity != nil } })
        let targets = [("greedy MF", try replay { _ in })]
        for (name, target) in targets {
            #expect(target.lists.allSatisfy { $0.items.allSatisfy { $0.propensity == nil } })
            let (joined, stats) = OffPolicyLog.join(logged: logged.lists, target: target.lists, events: events)
            #expect(stats.used == logged.lists.count && stats.withoutTarget == 0)
            #expect(OffPolicyEstimators.effectiveSampleSize(joined) > 0.5 * Double(stats.used))
            for e in OffPolicyEstimators.all(joined) {
                #expect(
                    e.covers(target.recall),
                    "\(name) \(e.estimator): \(e.value) [\(e.lower), \(e.upper)] vs replayed \(target.recall)"
                )
            }
        }
    }
}
