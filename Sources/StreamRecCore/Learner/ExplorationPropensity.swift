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
/// MMR re-ranking and the uncertainty bonus are deterministic given the model state: they change g, not
/// the randomness, so with ε = 0 every listed item has probability 1 and every other item 0 (no
/// overlap: no other policy can be evaluated from such a log, hence no propensities are written).
/// The random ranker's order is pseudo-random per (seed, user, event count) but not logged as a policy.
public enum ExplorationPropensity {
    /// Propensities of `list` (item slots, best first) given the pre-exploration `greedy` list, the
    /// number of `valid` candidates V and the `slots` count n the draws range over.
    public static func slotProbabilities(epsilon: Double, greedy: [Int32], list: [Int32], valid: Int, slots: Int)
        -> [Double]
    {
        let v = Double(max(valid, 0)), n = Double(max(slots, 1))
        let r = max(0, 1 - v / n)
        let e = v > 0 ? epsilon * (1 - pow(r, 16)) : 0
        let q = v > 0 ? e / v : 0
        return list.enumerated().map { s, item in
            if s < greedy.count, greedy[s] == item { return 1 - e }
            if let t = greedy.firstIndex(of: item) {
                return t < s ? e * q * pow(1 - q, Double(s - t - 1)) : 0
            }
            return q * pow(1 - q, Double(s))
        }
    }
}

extension OnlineLearner {
    /// Propensities of the list `recommend` just wrote with `selector` for `userSlot`; nil when ε = 0.
    public func explorationPropensities(userSlot: Int32?, list: [ScoredIndex], selector: TopKSelector) -> [Double]? {
        guard config.explorationEpsilon > 0 else { return nil }
        let live: Int32? = userSlot.flatMap { users.isLive($0) ? $0 : nil }
        var consumedLive = 0
        if let u = live { for i in store.seenItems(of: u) where items.isLive(i) { consumedLive += 1 } }
        let valid = items.count - consumedLive - list.count
        return ExplorationPropensity.slotProbabilities(
            epsilon: config.explorationEpsilon, greedy: selector.greedy.map(\.index), list: list.map(\.index),
            valid: valid, slots: model.itemCount)
    }
}
