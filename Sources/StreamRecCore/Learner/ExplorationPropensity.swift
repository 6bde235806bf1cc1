#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Per-slot propensities of ε-greedy lists: the exact probability that the policy placed the listed item in
/// its slot, given the model state (which fixes the greedy list g). Logged with every list when ε > 0 so
/// another policy can be evaluated off-policy (`streamrec evaluate-policy`).
///
/// Derivation (``OnlineLearner`` `explore`): slot s is explored with probability ε; an explored slot makes up
/// to 16 uniform draws over all n item slots and takes the first *valid* one (live, not consumed, not
/// currently listed). The list always holds K valid items, so the number of valid candidates V is the
/// same at every slot: V = live unconsumed items − K, one draw succeeds with 1 − r, r = 1 − V/n, and
/// a slot is replaced with probability e = ε(1 − r¹⁶), by each valid item with probability q = e / V.
/// - the greedy item kept in its slot: 1 − e;
/// - an item outside g at slot s (0-based): q(1 − q)^s (it must not have been drawn into an earlier slot);
/// - g_t re-drawn at a later slot s > t after its own slot was replaced: e · q(1 − q)^(s−t−1).
///
/// The list-level propensity (probability that the item is anywhere in the list) follows: a greedy item
/// g_t is in the list with (1 − e) + e(1 − (1 − q)^(K−1−t)); any other valid item with 1 − (1 − q)^K.
/// Hit rate depends only on membership, so off-policy hit-rate estimates use these: slot propensities
/// leave support holes (a greedy item can never move to an earlier slot), list propensities don't.
///
/// MMR re-ranking and the uncertainty bonus are deterministic given the model state: they change g, not
/// the randomness, so with ε = 0 every listed item has probability 1 and every other item 0 (no
/// overlap: no other policy can be evaluated from such a log, hence no propensities are written).
/// The random ranker's order is pseudo-random per (seed, user, event count) but not logged as a policy.
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
