// OnlineLearner's ranking path: MF (+ context, blend, cold start) top-K, MMR re-ranking, ε-greedy slots.
// The state and the learn path are in OnlineLearner.swift; the approximate and batched paths in Ranking/.
#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

extension OnlineLearner {
    /// The blend terms of one block of 8 items (neighbour score + popularityBlend × log recent
    /// popularity), shared by the per-user and the batched exact scans so both score identically.
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

    /// Top-`k` items for a user slot (nil = unknown user: popularity fallback), excluding consumed
    /// items and dead slots. Uses `selector` as reusable scratch; writes best-first into `output`.
    ///
    /// Stages, each off unless configured: MF scores (+ sequence context, + uncertainty bonus, + cold-start
    /// popularity blend) → top-K (top-M when MMR is on) → MMR diversity re-ranking → ε-greedy slots.
    /// Non-mutating and deterministic: exploration draws from an RNG derived from (seed, user, events).
    /// With an item index (``setRanking(_:probes:)``) MF candidates come from its probed lists unless
    /// `exact` is set.
    public func recommend(
        userSlot: Int32?,
        k: Int,
        selector: inout TopKSelector,
        into output: inout [ScoredIndex],
        exact: Bool = false
    ) {
        let live: Int32? = userSlot.flatMap { users.isLive($0) ? $0 : nil }
        let diversify = live != nil && config.ranker == .mf && config.diversityLambda < 1 && k > 1
        selector.reset(k: diversify ? max(k, config.diversityCandidates) : k)
        if let u = live {
            switch config.ranker {
            case .mf:
                selector.seen.fill(user: u, items: store.seenItems(of: u))
                defer { selector.seen.clear() }
                if !exact && model.itemIndex != nil && rankApproximately(user: u, selector: &selector) {
                    break
                }
                if config.uncertaintyBonus > 0 || config.sequenceContext > 0 || config.neighborWidth > 0
                    || coldStartWeight(user: u) > 0
                {
                    rankWithExtras(user: u, selector: &selector)
                } else {
                    rankPlain(user: u, selector: &selector)
                }
            case .popularity:
                rankByPopularity(user: u, recent: false, selector: &selector)
            case .random:
                // Deterministic per (user, event count) so ranking never perturbs the learner's RNG.
                var rng = RandomSource(seed: config.seed ^ (UInt64(u) << 32) ^ UInt64(counters.events))
                for i in 0..<model.itemCount {
                    let c = ScoredIndex(index: Int32(i), score: rng.nextUnitFloat())
                    if selector.admits(c) && !store.hasSeen(user: u, item: c.index) && items.isLive(c.index) {
                        selector.offer(c)
                    }
                }
            }
        } else {
            rankByPopularity(user: nil, recent: config.coldStartUserEvents > 0, selector: &selector)
        }
        selector.sorted(into: &output)
        if diversify { rerankMMR(k: k, selector: &selector, list: &output) }
        if config.explorationEpsilon > 0 {
            selector.greedy.removeAll(keepingCapacity: true)
            selector.greedy.append(contentsOf: output)  // kept for explorationPropensities
            explore(user: live, list: &output)
        }
    }

    /// Offers the lanes of one scored block that can enter the selection. Exclusion (consumed, dead) is
    /// checked only for candidates that would enter the top-K, against the selector's ``SeenSet`` of
    /// `u` (filled by the caller).
    @inline(__always)
    func offerBlock(first: Int, scores: SIMD8<Float>, user u: Int32, selector: inout TopKSelector) {
        // Cheap block filter: only lanes that could enter the top-K are examined further. The max is a
        // hand-written compare-and-select tree: `SIMD8.max()`, `any(mask)` and `pointwiseMax` compile
        // to out-of-line calls on baseline x86-64 (a third of all serve CPU in a perf profile).
        let a = scores.lowHalf
        let b = scores.highHalf
        let m4 = a.replacing(with: b, where: b .> a)
        let c = m4.lowHalf
        let d = m4.highHalf
        let m2 = c.replacing(with: d, where: d .> c)
        guard (m2[0] > m2[1] ? m2[0] : m2[1]) >= selector.threshold else { return }
        assert(selector.seen.user == u, "the selector's seen set belongs to another user")
        for lane in 0..<min(8, model.itemCount - first) {
            let c = ScoredIndex(index: Int32(first + lane), score: scores[lane])
            if selector.admits(c) && !selector.seen.contains(c.index) && items.isLive(c.index) {
                selector.offer(c)
            }
        }
    }

    private func rankPlain(user u: Int32, selector: inout TopKSelector) {
        model.userFactors.withUnsafeBufferPointer { U in
            let pu = U.baseAddress! + Int(u) * model.userFactors.stride
            model.rankingItems.scoreBlocks(user: pu) { first, scores in
                offerBlock(first: first, scores: scores, user: u, selector: &selector)
            }
        }
    }

    /// Weight of the recent-popularity term for a user with few interactions: fades linearly from
    /// ``ModelConfig/coldStartPopularityWeight`` (no interactions) to 0 at ``ModelConfig/coldStartUserEvents``.
    @inline(__always)
    func coldStartWeight(user u: Int32) -> Float {
        let threshold = config.coldStartUserEvents
        guard threshold > 0 else { return 0 }
        let n = Int(store.eventCounts[Int(u)])
        guard n < threshold else { return 0 }
        return config.coldStartPopularityWeight * (1 - Float(n) / Float(threshold))
    }

    /// What exact and approximate ranking both score with: the query (user vector + sequence context of
    /// the last `sequenceContext` items) and, with the blend on, the dense neighbour scores of the user's
    /// recent items (cleared afterwards with ``clearNeighborScores``).
    func prepareRankingInputs(
        user u: Int32,
        recent: inout [Int32],
        query: inout [Float],
        neighborContext: inout [Int32],
        neighborScores: inout [Float]
    ) {
        if config.sequenceContext > 0 {
            store.recentItems(of: u, into: &recent, limit: config.sequenceContext)
        } else {
            recent.removeAll(keepingCapacity: true)
        }
        model.contextQuery(user: u, context: recent, into: &query)
        if config.neighborWidth > 0 {
            accumulateNeighborScores(user: u, context: &neighborContext, into: &neighborScores)
        } else {
            neighborContext.removeAll(keepingCapacity: true)
        }
    }

    /// MF ranking with the scoring extras: the sequence-context query, the uncertainty bonus
    /// β / sqrt(1 + n_item), the cold-start term w_u · log(1 + recent count) and the learned
    /// item-neighbour blend a · neighbours + b · log(1 + recent count).
    private func rankWithExtras(user u: Int32, selector: inout TopKSelector) {
        var query: [Float] = []
        var recent: [Int32] = []
        var neighborScores: [Float] = []
        var neighborContext: [Int32] = []
        swap(&query, &selector.query)
        swap(&recent, &selector.recent)
        swap(&neighborScores, &selector.neighborScores)
        swap(&neighborContext, &selector.neighborContext)
        defer {
            clearNeighborScores(context: neighborContext, scores: &neighborScores)
            swap(&query, &selector.query)
            swap(&recent, &selector.recent)
            swap(&neighborScores, &selector.neighborScores)
            swap(&neighborContext, &selector.neighborContext)
        }
        prepareRankingInputs(
            user: u,
            recent: &recent,
            query: &query,
            neighborContext: &neighborContext,
            neighborScores: &neighborScores
        )
        let blend = config.neighborWidth > 0
        let popularityBlend = model.popularityBlend
        let n = model.itemCount
        let beta = config.uncertaintyBonus
        let scale = model.popularityScale
        let cold = coldStartWeight(user: u)
        let hasBonus = beta > 0 || cold > 0
        model.itemPopularity.withUnsafeBufferPointer { P in
            model.windowCounts.withUnsafeBufferPointer { W in
                model.windowLog.withUnsafeBufferPointer { WL in
                    neighborScores.withUnsafeBufferPointer { NS in
                        query.withUnsafeBufferPointer { Q in
                            model.rankingItems.scoreBlocks(user: Q.baseAddress!) { first, raw in
                                var scores = raw
                                if blend {
                                    OnlineLearner.addBlendTerms(
                                        &scores,
                                        first: first,
                                        itemCount: n,
                                        neighborScores: NS,
                                        windowLog: WL,
                                        popularityBlend: popularityBlend
                                    )
                                }
                                if hasBonus {
                                    if beta > 0 && first + 8 <= n {
                                        let p = UnsafeRawPointer(P.baseAddress! + first).loadUnaligned(
                                            as: SIMD8<Float>.self
                                        )
                                        scores += SIMD8(repeating: beta) / (1 + p * scale).squareRoot()
                                    } else if beta > 0 {
                                        for lane in 0..<(n - first) {
                                            scores[lane] += beta / (1 + P[first + lane] * scale).squareRoot()
                                        }
                                    }
                                    if cold > 0 {
                                        for lane in 0..<min(8, n - first) {
                                            scores[lane] += cold * log1pf(Float(W[first + lane]))
                                        }
                                    }
                                }
                                offerBlock(first: first, scores: scores, user: u, selector: &selector)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Popularity ranking: all-time (or half-life-decayed) weight, or — for cold start — occurrences in
    /// the recent-positives window.
    private func rankByPopularity(user: Int32?, recent: Bool, selector: inout TopKSelector) {
        func rank(_ score: (Int) -> Float, count: Int) {
            for i in 0..<count {
                let c = ScoredIndex(index: Int32(i), score: score(i))
                guard selector.admits(c) else { continue }
                if let u = user, store.hasSeen(user: u, item: c.index) { continue }
                if items.isLive(c.index) { selector.offer(c) }
            }
        }
        if user == nil && !recent && rankUnknownUserByLeaders(selector: &selector) { return }
        if recent {
            model.windowCounts.withUnsafeBufferPointer { W in rank({ Float(W[$0]) }, count: W.count) }
        } else {
            model.itemPopularity.withUnsafeBufferPointer { P in rank({ P[$0] }, count: P.count) }
        }
    }

    /// Maximal marginal relevance over the top-M in `list`: repeatedly picks the candidate maximizing
    /// `λ·rel − (1−λ)·max cos(item, picked)`, rel = score min-max normalized over the candidates (MF
    /// scores have no fixed scale, cosines do). λ = 1 reproduces the plain top-K exactly (ties resolve to
    /// the better-ranked candidate). Scores in the output stay the model's scores.
    private func rerankMMR(k: Int, selector: inout TopKSelector, list: inout [ScoredIndex]) {
        var candidates: [ScoredIndex] = []
        var sims: [Float] = []
        swap(&candidates, &selector.candidates)
        swap(&sims, &selector.similarity)
        defer {
            swap(&candidates, &selector.candidates)
            swap(&sims, &selector.similarity)
        }
        candidates.removeAll(keepingCapacity: true)
        candidates.append(contentsOf: list)
        list.removeAll(keepingCapacity: true)
        let m = candidates.count
        guard m > 0 else { return }
        let lambda = config.diversityLambda
        let top = candidates[0].score
        let bottom = candidates[m - 1].score
        let range = top - bottom
        // sims[0..<m]: max cosine to the picked set so far (+∞ once the candidate itself is picked);
        // sims[m..<2m]: candidate norms.
        sims.removeAll(keepingCapacity: true)
        sims.append(contentsOf: repeatElement(-1, count: m))
        let s = model.itemFactors.stride
        model.itemFactors.withUnsafeBufferPointer { V in
            let base = V.baseAddress!
            for c in candidates {
                let p = base + Int(c.index) * s
                sims.append(VectorKernels.norm(p, stride: s))
            }
            var picked = 0
            while picked < min(k, m) {
                var best = -1
                var bestValue = -Float.infinity
                for c in 0..<m where sims[c] != .infinity {
                    let rel = range > 0 ? (candidates[c].score - bottom) / range : 1
                    let value = lambda * rel - (1 - lambda) * sims[c]
                    if best < 0 || value > bestValue {
                        best = c
                        bestValue = value
                    }
                }
                list.append(candidates[best])
                sims[best] = .infinity
                picked += 1
                let pb = base + Int(candidates[best].index) * s
                let nb = sims[m + best]
                for c in 0..<m where sims[c] != .infinity {
                    let nc = sims[m + c]
                    let cos = VectorKernels.cosine(
                        pb,
                        base + Int(candidates[c].index) * s,
                        normA: nb,
                        normB: nc,
                        stride: s
                    )
                    if cos > sims[c] { sims[c] = cos }
                }
            }
        }
    }

    /// ε-greedy: each slot, with probability ε, is replaced by a random live item the user hasn't consumed
    /// and that isn't already listed (the replacement inherits the slot's score so the list stays ordered).
    private func explore(user: Int32?, list: inout [ScoredIndex]) {
        let n = model.itemCount
        guard n > 0 else { return }
        // A stream of its own, derived from (seed, user, event count): never touches the learning RNG.
        var rng = RandomSource(
            seed: (config.seed &* 0x9E37_79B9_7F4A_7C15) ^ 0xE8_9107_E5
                ^ (UInt64(UInt32(bitPattern: user ?? -1)) << 32) ^ UInt64(counters.events)
        )
        for slot in list.indices where rng.nextUnitDouble() < config.explorationEpsilon {
            for _ in 0..<16 {
                let j = Int32(rng.nextInt(below: n))
                guard items.isLive(j), !(user.map { store.hasSeen(user: $0, item: j) } ?? false),
                    !list.contains(where: { $0.index == j })
                else { continue }
                list[slot] = ScoredIndex(index: j, score: list[slot].score)
                break
            }
        }
    }

    /// Convenience for callers holding string ids (allocates; not for hot loops).
    public func recommend(user: String, k: Int) -> [(item: String, score: Float)] {
        var selector = TopKSelector(k: k)
        var out = [ScoredIndex]()
        recommend(userSlot: users.index(of: user), k: k, selector: &selector, into: &out)
        return out.compactMap { s in items.id(at: s.index).map { ($0, s.score) } }
    }
}
