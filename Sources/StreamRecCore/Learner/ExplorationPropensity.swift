#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Propensities of ε-greedy lists, logged with every list when ε > 0 so another policy can be evaluated
/// off-policy (`streamrec evaluate-policy`). Exact given the greedy list g: a slot is replaced with
/// probability e = ε(1 − r¹⁶) (16 uniform draws, r = 1 − V/n, V valid candidates), by each valid item
/// with q = e / V; a kept greedy item has 1 − e, an outside item at slot s q(1 − q)^s. Hit rate depends
/// only on membership, so off-policy estimates use the list propensities (no support holes). With ε = 0
/// lists are deterministic and no propensities are written.
public enum ExplorationPropensity {
    /// Propensities of `list` (item slots, best first) given the pre-exploration `greedy` list, the
    /// number of `valid` candidates V and the `slots` count n the draws range over.
    public static func slotProbabilities(
        epsilon: Double,
        greedy: [Int32],
        list: [Int32],
        valid: Int,
        slots: Int
    )
        -> [Double]
    {
        let (e, q) = rates(epsilon: epsilon, valid: valid, slots: slots)
        return list.enumerated().map { s, item in
            if s < greedy.count, greedy[s] == item { return 1 - e }
            if let t = greedy.firstIndex(of: item) {
                return t < s ? e * q * pow(1 - q, Double(s - t - 1)) : 0
            }
            return q * pow(1 - q, Double(s))
        }
    }

    /// Probability that each item of `list` is anywhere in the list (same inputs as ``slotProbabilities``).
    public static func listProbabilities(
        epsilon: Double,
        greedy: [Int32],
        list: [Int32],
        valid: Int,
        slots: Int
    )
        -> [Double]
    {
        let (e, q) = rates(epsilon: epsilon, valid: valid, slots: slots)
        let k = list.count
        return list.map { item in
            if let t = greedy.firstIndex(of: item) { return 1 - e + e * (1 - pow(1 - q, Double(k - 1 - t))) }
            return 1 - pow(1 - q, Double(k))
        }
    }

    /// e = probability a slot is replaced, q = probability it is replaced by one given valid item.
    static func rates(epsilon: Double, valid: Int, slots: Int) -> (e: Double, q: Double) {
        let v = Double(max(valid, 0))
        let n = Double(max(slots, 1))
        guard v > 0 else { return (0, 0) }
        let e = epsilon * (1 - pow(max(0, 1 - v / n), 16))
        return (e, e / v)
    }
}

extension OnlineLearner {
    /// Propensities of the list `recommend` just wrote with `pipeline` for `userSlot`: per slot, and of
    /// being anywhere in the list; nil when ε = 0.
    public func explorationPropensities(
        userSlot: Int32?,
        list: [ScoredIndex],
        pipeline: RankingPipeline
    )
        -> (slot: [Double], list: [Double])?
    {
        guard config.explorationEpsilon > 0 else { return nil }
        let live: Int32? = userSlot.flatMap { users.isLive($0) ? $0 : nil }
        var consumedLive = 0
        if let u = live { for i in store.seenItems(of: u) where items.isLive(i) { consumedLive += 1 } }
        let valid = items.count - consumedLive - list.count
        let greedy = pipeline.greedy.map(\.index)
        let listed = list.map(\.index)
        let eps = config.explorationEpsilon
        return (
            ExplorationPropensity.slotProbabilities(
                epsilon: eps,
                greedy: greedy,
                list: listed,
                valid: valid,
                slots: model.itemCount
            ),
            ExplorationPropensity.listProbabilities(
                epsilon: eps,
                greedy: greedy,
                list: listed,
                valid: valid,
                slots: model.itemCount
            )
        )
    }
}
