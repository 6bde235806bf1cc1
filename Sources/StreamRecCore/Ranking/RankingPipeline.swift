#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// What the learner asks the ranking pipeline for: one list for one user (or for an unknown user).
struct RankingRequest {
    enum Source {
        /// Matrix factorization for a live user: scored by the item index unless `exact` (or it can't
        /// answer), else by a scan of every item.
        case mf(user: Int32, exact: Bool)
        /// All-time (or decayed) popularity, or occurrences in the recent-positives window.
        case popularity(user: Int32?, recent: Bool)
        /// Uniform scores from a stream seeded by `seed` (never the learner's RNG).
        case random(user: Int32, seed: UInt64)
    }

    var source: Source
    var k: Int
    /// Items the user consumed (excluded from the list); empty for an unknown user.
    var seen: [Int32]
    /// Weight of the cold-start popularity term w_u · log(1 + recent count) (0 = off).
    var coldStartWeight: Float
    /// ε-greedy stream seed; used only when ``ModelConfig/explorationEpsilon`` > 0.
    var explorationSeed: UInt64

    var user: Int32? {
        switch source {
        case .mf(let u, _), .random(let u, _): u
        case .popularity(let u, _): u
        }
    }
}

/// Ranking from inputs to a list: candidate scoring (exact scan, item index or popularity) → top-K
/// selection → MMR diversity re-ranking → ε-greedy slots. The learner fills the context inputs,
/// calls ``rank(_:model:liveItems:into:)`` and gets the list back; the pipeline reads the model but
/// never the learner. A caller keeps one pipeline per thread and ranks without allocating.
public struct RankingPipeline: Sendable {
    // Inputs the learner fills for a known user before `rank`.
    /// Items of the user's sequence context, most recent first (empty when `sequenceContext == 0`).
    var sequenceContext: [Int32] = []
    /// The user's recent items whose neighbours get the blend term (empty when `neighborWidth == 0`).
    var neighborContext: [Int32] = []

    // Workspace, reused across calls.
    var selector = TopKSelector(k: 0)
    var query: [Float] = []
    /// Dense neighbour scores over item slots: all zero between calls.
    var neighborScores: [Float] = []
    /// Approximate ranking: the lists to probe, best first, and which of them were probed (all false
    /// between calls).
    var probeOrder: [ScoredIndex] = []
    var probedLists: [Bool] = []
    var candidates: [ScoredIndex] = []
    var similarity: [Float] = []
    /// The list before ε-greedy replaced slots (for exploration propensities).
    public internal(set) var greedy: [ScoredIndex] = []

    public init() {}

    /// The one entry point: writes the list for `request` best-first into `output`.
    mutating func rank(
        _ request: RankingRequest,
        model: MatrixFactorizationModel,
        liveItems items: IdDictionary,
        into output: inout [ScoredIndex]
    ) {
        let config = model.config
        let k = request.k
        let live = request.user
        let diversify = live != nil && config.ranker == .mf && config.diversityLambda < 1 && k > 1
        selector.reset(k: diversify ? max(k, config.diversityCandidates) : k)
        if let u = live { selector.seen.fill(user: u, items: request.seen) }
        defer { selector.seen.clear() }
        switch request.source {
        case .mf(let u, let exact):
            if exact || model.factors.index == nil
                || !rankApproximately(user: u, cold: request.coldStartWeight, model: model, items: items)
            {
                rankExactly(user: u, cold: request.coldStartWeight, model: model, items: items)
            }
        case .popularity(let user, let recent):
            rankByPopularity(user: user, recent: recent, model: model, items: items)
        case .random(_, let seed):
            var rng = RandomSource(seed: seed)
            for i in 0..<model.itemCount {
                let c = ScoredIndex(index: Int32(i), score: rng.nextUnitFloat())
                if selector.admits(c) && !selector.seen.contains(c.index) && items.isLive(c.index) {
                    selector.offer(c)
                }
            }
        }
        selector.sorted(into: &output)
        if diversify { rerankMMR(k: k, model: model, list: &output) }
        if config.explorationEpsilon > 0 {
            greedy.removeAll(keepingCapacity: true)
            greedy.append(contentsOf: output)
            explore(user: live, seed: request.explorationSeed, model: model, items: items, list: &output)
        }
    }

    /// Fraction of `exact`'s items that `approximate` also lists (1 when `exact` is empty).
    public static func overlap(_ approximate: [ScoredIndex], _ exact: [ScoredIndex]) -> Double {
        guard !exact.isEmpty else { return 1 }
        var shared = 0
        for e in exact where approximate.contains(where: { $0.index == e.index }) { shared += 1 }
        return Double(shared) / Double(exact.count)
    }

    // MARK: Shared inputs

    /// The query (user vector + mean sequence-context vector) and, with the blend on, the dense
    /// neighbour scores of ``neighborContext`` (cleared afterwards with ``clearNeighborScores(model:)``).
    mutating func prepareInputs(user u: Int32, model: MatrixFactorizationModel) {
        model.contextQuery(user: u, context: sequenceContext, into: &query)
        if model.config.neighborWidth > 0 {
            model.blend.neighbors.accumulateScores(
                of: &neighborContext,
                weight: model.blend.neighborWeight,
                decay: model.config.neighborDecay,
                itemCount: model.itemCount,
                into: &neighborScores
            )
        }
    }

    mutating func clearNeighborScores(model: MatrixFactorizationModel) {
        model.blend.neighbors.clearScores(of: neighborContext, in: &neighborScores)
    }

    /// The blend terms of one block of 8 items: neighbour score + popularityBlend × log recent popularity.
    @inline(__always)
    static func addBlendTerms(
        _ scores: inout SIMD8<Float>,
        first: Int,
        itemCount n: Int,
        neighborScores NS: UnsafeBufferPointer<Float>,
        windowLog WL: UnsafeBufferPointer<Float>,
        popularityBlend: Float
    ) {
        if first + 8 <= n {
            let a = UnsafeRawPointer(NS.baseAddress! + first).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(WL.baseAddress! + first).loadUnaligned(as: SIMD8<Float>.self)
            scores += a + SIMD8(repeating: popularityBlend) * b
        } else {
            for lane in 0..<(n - first) {
                scores[lane] += NS[first + lane] + popularityBlend * WL[first + lane]
            }
        }
    }
}
