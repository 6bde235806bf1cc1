#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Off-policy estimators of a target policy's hit rate from lists logged with per-slot propensities.
///
/// Model: list i shows units s (listed items, or slots) each with item a_is and logging propensity p_is —
/// the probability the logging policy put a_is in the list (item level) or in slot s (slot level). The
/// reward r_is is 1 when the user's next interaction is a_is, so a list's hit = Σ_s r_is (at most 1 with
/// distinct items). π_is is the target policy's probability for the same unit (1 or 0 for a deterministic
/// target) and w_is = π_is / p_is. Unbiased when a unit's reward depends only on its item — exact for a
/// replayed log, where the next interaction doesn't react to the list — and when p_is > 0 wherever
/// π_is > 0. Hit rate depends only on membership, so item-level units are the default: ε-greedy gives
/// every valid item positive membership probability, while slot-level leaves holes (see ``ExplorationPropensity``).
///
/// - IPS: mean_i Σ_s w_is r_is.
/// - SNIPS: Σ_i Σ_s w_is r_is / Σ_i (Σ_s w_is / c_i), where c_i = E[Σ_s w_is] = the target list's expected
///   size (its length for a deterministic target): self-normalized by weights whose expectation is 1.
/// - DR: mean_i [ D_i + Σ_s w_is (r_is − q̂_is) ], with a reward model q̂ and D_i = Σ E_π q̂ over the target's
///   list, unbiased if either the propensities or q̂ are right; lower variance when q̂ is good.
///
/// Intervals: 95% normal approximation (estimate ± 1.96 standard errors of the per-list terms; SNIPS by
/// the delta method on its ratio). Normal intervals assume enough lists that the mean of the
/// heavy-tailed weighted terms is near normal; the coverage test checks ≥ 90% on generated logs.
public enum OffPolicyEstimators {
    public struct Slot: Sendable, Equatable {
        public var loggingPropensity: Double
        public var targetProbability: Double
        public var reward: Double
        /// q̂(x, a_is, s): the reward model's prediction for the logged item (DR only).
        public var predictedReward: Double
        public init(loggingPropensity: Double, targetProbability: Double, reward: Double, predictedReward: Double = 0) {
            self.loggingPropensity = loggingPropensity
            self.targetProbability = targetProbability
            self.reward = reward
            self.predictedReward = predictedReward
        }
        var weight: Double { loggingPropensity > 0 ? targetProbability / loggingPropensity : 0 }
    }

    public struct LoggedList: Sendable, Equatable {
        public var slots: [Slot]
        /// D_i: the reward model's expected list reward under the target policy (DR only).
        public var targetPredictedReward: Double
        /// c_i: the target list's expected size, E[Σ_s w_is] (SNIPS only).
        public var targetSize: Double
        public init(slots: [Slot], targetPredictedReward: Double = 0, targetSize: Double) {
            self.slots = slots
            self.targetPredictedReward = targetPredictedReward
            self.targetSize = targetSize
        }
    }

    public struct Estimate: Sendable, Equatable, Codable {
        public var estimator: String
        public var value: Double
        public var standardError: Double
        public var lower: Double
        public var upper: Double
        public var lists: Int
        public func covers(_ truth: Double) -> Bool { lower <= truth && truth <= upper }
    }

    public static let z95 = 1.959964

    public static func all(_ lists: [LoggedList]) -> [Estimate] { [ips(lists), snips(lists), doublyRobust(lists)] }

    public static func ips(_ lists: [LoggedList]) -> Estimate {
        meanEstimate("IPS", lists.map { $0.slots.reduce(0) { $0 + $1.weight * $1.reward } })
    }

    public static func doublyRobust(_ lists: [LoggedList]) -> Estimate {
        meanEstimate(
            "DR",
            lists.map { list in
                list.targetPredictedReward + list.slots.reduce(0) { $0 + $1.weight * ($1.reward - $1.predictedReward) }
            }
        )
    }

    public static func snips(_ lists: [LoggedList]) -> Estimate {
        let n = lists.count
        let y = lists.map { $0.slots.reduce(0) { $0 + $1.weight * $1.reward } }
        let w = lists.map { l in l.targetSize > 0 ? l.slots.reduce(0) { $0 + $1.weight } / l.targetSize : 0 }
        let wSum = w.reduce(0, +)
        guard n > 0, wSum > 0 else {
            return Estimate(estimator: "SNIPS", value: 0, standardError: 0, lower: 0, upper: 0, lists: n)
        }
        let value = y.reduce(0, +) / wSum
        // Delta method: influence of list i = (y_i − value · w_i) / mean(w).
        let meanW = wSum / Double(n)
        let se = standardError((0..<n).map { (y[$0] - value * w[$0]) / meanW })
        return Estimate(
            estimator: "SNIPS",
            value: value,
            standardError: se,
            lower: value - z95 * se,
            upper: value + z95 * se,
            lists: n
        )
    }

    /// Kish's effective sample size of the normalized list weights, (Σ w̃_i)² / Σ w̃_i²: how many on-policy
    /// lists the log is worth for this target. Far below the list count ⇒ heavy-tailed weights, and the
    /// normal intervals get unreliable (a target far from the logging policy needs more lists).
    public static func effectiveSampleSize(_ lists: [LoggedList]) -> Double {
        let w = lists.map { l in l.targetSize > 0 ? l.slots.reduce(0) { $0 + $1.weight } / l.targetSize : 0 }
        let sq = w.reduce(0) { $0 + $1 * $1 }
        return sq > 0 ? pow(w.reduce(0, +), 2) / sq : 0
    }

    static func meanEstimate(_ name: String, _ terms: [Double]) -> Estimate {
        let n = terms.count
        guard n > 0 else { return Estimate(estimator: name, value: 0, standardError: 0, lower: 0, upper: 0, lists: 0) }
        let mean = terms.reduce(0, +) / Double(n)
        let se = standardError(terms)
        return Estimate(
            estimator: name,
            value: mean,
            standardError: se,
            lower: mean - z95 * se,
            upper: mean + z95 * se,
            lists: n
        )
    }

    /// Standard error of the mean of `terms` (sample standard deviation / √n).
    static func standardError(_ terms: [Double]) -> Double {
        let n = Double(terms.count)
        guard n > 1 else { return 0 }
        let mean = terms.reduce(0, +) / n
        let variance = terms.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (variance / n).squareRoot()
    }
}
