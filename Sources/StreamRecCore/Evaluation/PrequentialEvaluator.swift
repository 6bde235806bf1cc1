import Foundation

/// Accuracy and beyond-accuracy metrics over a stream of (recommended list, held-out next item) pairs.
/// Codable so a replay's running metrics travel inside its snapshots and survive a resume.
public struct MetricTotals: Sendable, Equatable, Codable {
    public var scored: Int64 = 0
    public var hits: Int64 = 0
    public var ndcgSum: Double = 0
    public var reciprocalRankSum: Double = 0
    public var noveltySum: Double = 0
    public var noveltyCount: Int64 = 0
    public var diversitySum: Double = 0
    public var diversityCount: Int64 = 0
    /// Sum and count of per-event sampled AUC (events whose item the model knows).
    public var aucSum: Double = 0
    public var aucCount: Int64 = 0
    /// Scored lists holding at least one item outside the top-1% most popular.
    public var tailLists: Int64 = 0

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case scored, hits, ndcgSum, reciprocalRankSum, noveltySum, noveltyCount, diversitySum, diversityCount
        case aucSum, aucCount, tailLists
    }

    /// Tolerates missing keys, so replay snapshots written before a metric existed still resume.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scored = try c.decodeIfPresent(Int64.self, forKey: .scored) ?? 0
        hits = try c.decodeIfPresent(Int64.self, forKey: .hits) ?? 0
        ndcgSum = try c.decodeIfPresent(Double.self, forKey: .ndcgSum) ?? 0
        reciprocalRankSum = try c.decodeIfPresent(Double.self, forKey: .reciprocalRankSum) ?? 0
        noveltySum = try c.decodeIfPresent(Double.self, forKey: .noveltySum) ?? 0
        noveltyCount = try c.decodeIfPresent(Int64.self, forKey: .noveltyCount) ?? 0
        diversitySum = try c.decodeIfPresent(Double.self, forKey: .diversitySum) ?? 0
        diversityCount = try c.decodeIfPresent(Int64.self, forKey: .diversityCount) ?? 0
        aucSum = try c.decodeIfPresent(Double.self, forKey: .aucSum) ?? 0
        aucCount = try c.decodeIfPresent(Int64.self, forKey: .aucCount) ?? 0
        tailLists = try c.decodeIfPresent(Int64.self, forKey: .tailLists) ?? 0
    }

    public var recall: Double { scored > 0 ? Double(hits) / Double(scored) : 0 }
    public var ndcg: Double { scored > 0 ? ndcgSum / Double(scored) : 0 }
    public var mrr: Double { scored > 0 ? reciprocalRankSum / Double(scored) : 0 }
    public var novelty: Double { noveltyCount > 0 ? noveltySum / Double(noveltyCount) : 0 }
    public var diversity: Double? { diversityCount > 0 ? diversitySum / Double(diversityCount) : nil }
    /// Mean sampled AUC; nil when no event was measured.
    public var auc: Double? { aucCount > 0 ? aucSum / Double(aucCount) : nil }
    /// precision@K: with one relevant item per event, hits / (K · scored).
    public func precision(k: Int) -> Double { scored > 0 ? Double(hits) / (Double(k) * Double(scored)) : 0 }
    /// F1@K per event, averaged: a hit has P = 1/K and R = 1, so F1 = 2/(K+1); a miss 0.
    public func f1(k: Int) -> Double { recall * 2 / Double(k + 1) }
    /// Share of scored lists with at least one long-tail item.
    public var longTailShare: Double { scored > 0 ? Double(tailLists) / Double(scored) : 0 }
}

/// Metrics for one window of scored events (for plotting accuracy over time).
public struct WindowMetrics: Sendable, Equatable, Codable {
    /// Index (0-based, in the whole log) of the last event in the window.
    public var endEvent: Int64
    public var scored: Int64
    public var recall: Double
    public var ndcg: Double
    public var mrr: Double
    /// Distinct items recommended in the window / live catalog size.
    public var coverage: Double
    /// Mean sampled AUC in the window (nil when AUC is off or no event was measured).
    public var auc: Double? = nil
    public var precision: Double = 0
    public var f1: Double = 0
    /// Exposure concentration over the window's lists (see ``ExposureCounts``).
    public var exposureGini: Double = 0
    public var exposureEntropy: Double = 0
    public var longTailShare: Double = 0

    private enum CodingKeys: String, CodingKey {
        case endEvent, scored, recall, ndcg, mrr, coverage, auc, precision, f1, exposureGini, exposureEntropy
        case longTailShare
    }

    public init(endEvent: Int64, scored: Int64, recall: Double, ndcg: Double, mrr: Double, coverage: Double) {
        self.endEvent = endEvent
        self.scored = scored
        self.recall = recall
        self.ndcg = ndcg
        self.mrr = mrr
        self.coverage = coverage
    }

    /// Tolerates the metrics added later being absent (older replay snapshots).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        endEvent = try c.decode(Int64.self, forKey: .endEvent)
        scored = try c.decode(Int64.self, forKey: .scored)
        recall = try c.decode(Double.self, forKey: .recall)
        ndcg = try c.decode(Double.self, forKey: .ndcg)
        mrr = try c.decode(Double.self, forKey: .mrr)
        coverage = try c.decode(Double.self, forKey: .coverage)
        auc = try c.decodeIfPresent(Double.self, forKey: .auc)
        precision = try c.decodeIfPresent(Double.self, forKey: .precision) ?? 0
        f1 = try c.decodeIfPresent(Double.self, forKey: .f1) ?? 0
        exposureGini = try c.decodeIfPresent(Double.self, forKey: .exposureGini) ?? 0
        exposureEntropy = try c.decodeIfPresent(Double.self, forKey: .exposureEntropy) ?? 0
        longTailShare = try c.decodeIfPresent(Double.self, forKey: .longTailShare) ?? 0
    }
}

/// The test half of test-then-train for one event, shared by ``ReplaySession`` and the live online
/// metric so offline and online figures follow one protocol.
public enum PrequentialProbe: Sendable, Equatable {
    /// The user already consumed the item: not scored (lists exclude consumed items by design).
    case repeatConsumption
    /// The user's top-K was ranked into the caller's list; `target` is the event's item slot, nil for
    /// an item the model has never seen (a miss that still counts).
    case ranked(target: Int32?)
}

extension OnlineLearner {
    /// Ranks `user`'s top-K *before* the event is learned (unknown users get the popularity fallback).
    public func probe(
        user: String,
        item: String,
        k: Int,
        pipeline: inout RankingPipeline,
        into list: inout [ScoredIndex]
    ) -> PrequentialProbe {
        let userSlot = users.index(of: user)
        let itemSlot = items.index(of: item)
        if let u = userSlot, let i = itemSlot, store.hasSeen(user: u, item: i) { return .repeatConsumption }
        recommend(userSlot: userSlot, k: k, pipeline: &pipeline, into: &list)
        return .ranked(target: itemSlot)
    }
}

/// Prequential (test-then-train) evaluation: before the learner sees an event, its user's top-K is
/// scored against the event's item.
///
/// - recall@K (hit rate): the item is in the top-K.
/// - NDCG@K: 1 / log2(rank + 1) for a hit at 1-based `rank`, else 0 (one relevant item, so IDCG = 1).
/// - MRR@K: 1 / rank for a hit, else 0.
/// - novelty: mean −log2(p(item)) of recommended items, p = the item's share of interactions so far.
/// - intra-list diversity: mean pairwise cosine distance between recommended items' factors.
/// - catalog coverage: distinct items ever recommended / live catalog size.
/// - sampled AUC, precision@K, F1@K: see ``SampledAUC`` and ``MetricTotals``.
/// - exposure Gini and entropy over all scored lists, and the share of lists with at least one item
///   outside the top-1% most popular: see ``ExposureCounts`` and ``LongTailCut``.
public struct PrequentialEvaluator: Sendable, Equatable, Codable {
    public let k: Int
    public let windowSize: Int
    public private(set) var totals = MetricTotals()
    public private(set) var windows: [WindowMetrics] = []
    private var window = MetricTotals()
    public private(set) var exposure = ExposureCounts()
    private var windowExposure = ExposureCounts()
    private var tailCut = LongTailCut()
    public private(set) var auc: SampledAUC
    /// Bitmaps over item slots: recommended ever / in the current window.
    private var recommendedEver: [UInt64] = []
    private var recommendedInWindow: [UInt64] = []
    private var windowDistinct = 0
    public private(set) var distinctRecommended = 0

    /// `aucSamples` unconsumed items are drawn per scored event for AUC (0 = off), from an RNG seeded
    /// with `aucSeed` that is independent of the model's.
    public init(k: Int, windowSize: Int, aucSamples: Int = 0, aucSeed: UInt64 = 0) {
        self.k = k
        self.windowSize = max(1, windowSize)
        auc = SampledAUC(samples: aucSamples, seed: aucSeed)
    }

    private enum CodingKeys: String, CodingKey {
        case k, windowSize, totals, windows, window, exposure, windowExposure, tailCut, auc
        case recommendedEver, recommendedInWindow, windowDistinct, distinctRecommended
    }

    /// Tolerates the state added with the beyond-accuracy metrics being absent (older replay snapshots).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        k = try c.decode(Int.self, forKey: .k)
        windowSize = try c.decode(Int.self, forKey: .windowSize)
        totals = try c.decode(MetricTotals.self, forKey: .totals)
        windows = try c.decode([WindowMetrics].self, forKey: .windows)
        window = try c.decode(MetricTotals.self, forKey: .window)
        exposure = try c.decodeIfPresent(ExposureCounts.self, forKey: .exposure) ?? ExposureCounts()
        windowExposure = try c.decodeIfPresent(ExposureCounts.self, forKey: .windowExposure) ?? ExposureCounts()
        tailCut = try c.decodeIfPresent(LongTailCut.self, forKey: .tailCut) ?? LongTailCut()
        auc = try c.decodeIfPresent(SampledAUC.self, forKey: .auc) ?? SampledAUC(samples: 0, seed: 0)
        recommendedEver = try c.decode([UInt64].self, forKey: .recommendedEver)
        recommendedInWindow = try c.decode([UInt64].self, forKey: .recommendedInWindow)
        windowDistinct = try c.decode(Int.self, forKey: .windowDistinct)
        distinctRecommended = try c.decode(Int.self, forKey: .distinctRecommended)
    }

    /// Scores one list. `target` is the event's item slot, or nil for an item the model has never seen
    /// (a guaranteed miss that still counts: the protocol doesn't hide cold items). `user` is the event's
    /// user slot (nil = unknown), used for sampled AUC.
    public mutating func record(
        eventIndex: Int64,
        recommended: [ScoredIndex],
        target: Int32?,
        learner: OnlineLearner,
        measureDiversity: Bool,
        user: Int32? = nil
    ) {
        let rank = Self.rank(of: target, in: recommended)
        accumulate(&totals, rank: rank)
        accumulate(&window, rank: rank)
        if let target, let a = auc.measure(learner: learner, userSlot: user, target: target) {
            totals.aucSum += a
            totals.aucCount += 1
            window.aucSum += a
            window.aucCount += 1
        }
        tailCut.advance(learner: learner)
        var hasTail = false
        for s in recommended {
            exposure.add(s.index)
            windowExposure.add(s.index)
            if !hasTail && tailCut.isTail(s.index, learner: learner) { hasTail = true }
        }
        if hasTail {
            totals.tailLists += 1
            window.tailLists += 1
        }

        let popularity = learner.model.itemPopularity
        let total = max(learner.model.totalPopularity, 1)
        var novelty = 0.0
        for s in recommended {
            let p = Double(max(popularity[Int(s.index)], 0.5)) / Double(total)
            novelty += -log2(p)
            mark(Int(s.index))
        }
        if !recommended.isEmpty {
            let mean = novelty / Double(recommended.count)
            totals.noveltySum += mean
            totals.noveltyCount += 1
            window.noveltySum += mean
            window.noveltyCount += 1
        }
        if measureDiversity, recommended.count > 1 {
            let d = Self.intraListDiversity(recommended, factors: learner.model.itemFactors)
            totals.diversitySum += d
            totals.diversityCount += 1
            window.diversitySum += d
            window.diversityCount += 1
        }
        if window.scored >= Int64(windowSize) {
            closeWindow(endEvent: eventIndex, catalog: learner.items.count)
        }
    }

    /// 1-based rank of `target` in `list`, 0 when absent (or when the item is unknown).
    @inline(__always)
    public static func rank(of target: Int32?, in list: [ScoredIndex]) -> Int {
        guard let target, let position = list.firstIndex(where: { $0.index == target }) else { return 0 }
        return position + 1
    }

    /// Emits the partial last window, if any (call at the end of a replay).
    public mutating func finish(endEvent: Int64, catalog: Int) {
        if window.scored > 0 { closeWindow(endEvent: endEvent, catalog: catalog) }
    }

    public func coverage(catalog: Int) -> Double {
        catalog > 0 ? Double(distinctRecommended) / Double(catalog) : 0
    }

    private func accumulate(_ m: inout MetricTotals, rank: Int) {
        m.scored += 1
        guard rank > 0 else { return }
        m.hits += 1
        m.ndcgSum += 1 / log2(Double(rank) + 1)
        m.reciprocalRankSum += 1 / Double(rank)
    }

    private mutating func mark(_ slot: Int) {
        let word = slot >> 6
        let bit = UInt64(1) << UInt64(slot & 63)
        if word >= recommendedEver.count {
            recommendedEver.append(contentsOf: repeatElement(0, count: word + 1 - recommendedEver.count))
            recommendedInWindow.append(contentsOf: repeatElement(0, count: word + 1 - recommendedInWindow.count))
        }
        if recommendedEver[word] & bit == 0 {
            recommendedEver[word] |= bit
            distinctRecommended += 1
        }
        if recommendedInWindow[word] & bit == 0 {
            recommendedInWindow[word] |= bit
            windowDistinct += 1
        }
    }

    private mutating func closeWindow(endEvent: Int64, catalog: Int) {
        var w = WindowMetrics(
            endEvent: endEvent,
            scored: window.scored,
            recall: window.recall,
            ndcg: window.ndcg,
            mrr: window.mrr,
            coverage: catalog > 0 ? Double(windowDistinct) / Double(catalog) : 0
        )
        w.auc = window.auc
        w.precision = window.precision(k: k)
        w.f1 = window.f1(k: k)
        w.exposureGini = windowExposure.gini(catalog: catalog)
        w.exposureEntropy = windowExposure.entropy()
        w.longTailShare = window.longTailShare
        windows.append(w)
        window = MetricTotals()
        windowExposure.reset()
        for i in recommendedInWindow.indices { recommendedInWindow[i] = 0 }
        windowDistinct = 0
    }

    /// Mean pairwise cosine distance (1 − cos) between the listed items' factor vectors.
    public static func intraListDiversity(_ list: [ScoredIndex], factors: FactorMatrix) -> Double {
        let s = factors.stride
        return factors.withUnsafeBufferPointer { V in
            var sum = 0.0
            var pairs = 0
            for a in 0..<list.count {
                let pa = V.baseAddress! + Int(list[a].index) * s
                let na = VectorKernels.norm(pa, stride: s)
                for b in (a + 1)..<list.count {
                    let pb = V.baseAddress! + Int(list[b].index) * s
                    let nb = VectorKernels.norm(pb, stride: s)
                    let cos = VectorKernels.cosine(pa, pb, normA: na, normB: nb, stride: s)
                    sum += Double(1 - cos)
                    pairs += 1
                }
            }
            return pairs > 0 ? sum / Double(pairs) : 0
        }
    }
}
