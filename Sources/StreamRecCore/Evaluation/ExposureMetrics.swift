#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// How recommended exposure is spread over the catalog: one count per item slot of how many produced lists
/// contained the item (position-blind), plus the long-tail test used by the replay report.
public struct ExposureCounts: Sendable, Equatable, Codable {
    public private(set) var counts: [Int64] = []
    public private(set) var total: Int64 = 0

    public init() {}

    public mutating func add(_ slot: Int32) {
        let s = Int(slot)
        if s >= counts.count { counts.append(contentsOf: repeatElement(0, count: s + 1 - counts.count)) }
        counts[s] += 1
        total += 1
    }

    public mutating func reset() {
        for i in counts.indices { counts[i] = 0 }
        total = 0
    }

    /// Gini coefficient of exposure over a catalog of `catalog` items (items never shown count as 0):
    /// 0 = every item shown equally often, → 1 = all exposure on one item.
    public func gini(catalog: Int) -> Double { Self.gini(counts.filter { $0 > 0 }, catalog: catalog) }

    /// Shannon entropy of the exposure distribution in bits (log2 of the number of items for uniform).
    public func entropy() -> Double { Self.entropy(counts) }

    /// Gini of `positive` values padded with zeros to `catalog` entries:
    /// G = Σ_i (2i − n − 1) x_(i) / (n Σ x) over ascending x_(1..n).
    public static func gini(_ positive: [Int64], catalog: Int) -> Double {
        let n = max(catalog, positive.count)
        let sum = positive.reduce(0, +)
        guard n > 0, sum > 0 else { return 0 }
        let sorted = positive.sorted()
        let zeros = n - sorted.count
        var acc = 0.0
        for (j, x) in sorted.enumerated() {
            let i = Double(zeros + j + 1)
            acc += (2 * i - Double(n) - 1) * Double(x)
        }
        return acc / (Double(n) * Double(sum))
    }

    public static func entropy(_ counts: [Int64]) -> Double {
        let sum = Double(counts.reduce(0, +))
        guard sum > 0 else { return 0 }
        var h = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / sum
            h -= p * log2(p)
        }
        return h
    }
}

/// The popularity an item needs to be among the top 1% most popular live items (by the model's
/// interaction weight so far). Recomputed every ``refreshEvery`` lists rather than per list: finding the
/// cut is O(items log items), and popularity moves slowly.
public struct LongTailCut: Sendable, Equatable, Codable {
    public static let headFraction = 0.01
    public static let refreshEvery: Int64 = 1000
    public private(set) var threshold: Float = .infinity
    private var lists: Int64 = 0

    public init() {}

    /// Call once per produced list before ``isTail(_:learner:)``.
    public mutating func advance(learner: OnlineLearner) {
        if lists % Self.refreshEvery == 0 { threshold = Self.headThreshold(learner: learner) }
        lists += 1
    }

    /// True for an item outside the head: less popular than the cut, or never interacted with.
    public func isTail(_ slot: Int32, learner: OnlineLearner) -> Bool {
        let p = learner.model.itemPopularity[Int(slot)]
        return !(p > 0 && p >= threshold)
    }

    /// The m-th largest popularity among live items, m = max(1, ⌈1% of live items⌉).
    public static func headThreshold(learner: OnlineLearner) -> Float {
        var live: [Float] = []
        live.reserveCapacity(learner.items.count)
        for i in 0..<learner.model.itemCount where learner.items.isLive(Int32(i)) {
            live.append(learner.model.itemPopularity[i])
        }
        guard !live.isEmpty else { return .infinity }
        let m = max(1, Int((headFraction * Double(live.count)).rounded(.up)))
        live.sort(by: >)
        return live[m - 1]
    }
}
