// The list stages after selection: MMR diversity re-ranking and ε-greedy exploration.
extension RankingPipeline {
    /// Maximal marginal relevance over the top-M in `list`: repeatedly picks the candidate maximizing
    /// `λ·rel − (1−λ)·max cos(item, picked)`, rel = score min-max normalized over the candidates (MF
    /// scores have no fixed scale, cosines do). λ = 1 reproduces the plain top-K exactly (ties resolve to
    /// the better-ranked candidate). Scores in the output stay the model's scores.
    mutating func rerankMMR(k: Int, model: MatrixFactorizationModel, list: inout [ScoredIndex]) {
        let lambda = model.config.diversityLambda
        candidates.removeAll(keepingCapacity: true)
        candidates.append(contentsOf: list)
        list.removeAll(keepingCapacity: true)
        let m = candidates.count
        guard m > 0 else { return }
        let top = candidates[0].score
        let bottom = candidates[m - 1].score
        let range = top - bottom
        // similarity[0..<m]: max cosine to the picked set so far (+∞ once the candidate itself is picked);
        // similarity[m..<2m]: candidate norms.
        similarity.removeAll(keepingCapacity: true)
        similarity.append(contentsOf: repeatElement(-1, count: m))
        let s = model.factors.items.stride
        model.factors.items.withUnsafeBufferPointer { V in
            let base = V.baseAddress!
            for c in candidates {
                let p = base + Int(c.index) * s
                similarity.append(VectorKernels.norm(p, stride: s))
            }
            var picked = 0
            while picked < min(k, m) {
                var best = -1
                var bestValue = -Float.infinity
                for c in 0..<m where similarity[c] != .infinity {
                    let rel = range > 0 ? (candidates[c].score - bottom) / range : 1
                    let value = lambda * rel - (1 - lambda) * similarity[c]
                    if best < 0 || value > bestValue {
                        best = c
                        bestValue = value
                    }
                }
                list.append(candidates[best])
                similarity[best] = .infinity
                picked += 1
                let pb = base + Int(candidates[best].index) * s
                let nb = similarity[m + best]
                for c in 0..<m where similarity[c] != .infinity {
                    let nc = similarity[m + c]
                    let cos = VectorKernels.cosine(
                        pb,
                        base + Int(candidates[c].index) * s,
                        normA: nb,
                        normB: nc,
                        stride: s
                    )
                    if cos > similarity[c] { similarity[c] = cos }
                }
            }
        }
    }

    /// ε-greedy: each slot, with probability ε, is replaced by a random live item the user hasn't consumed
    /// and that isn't already listed (the replacement inherits the slot's score so the list stays ordered).
    mutating func explore(
        user: Int32?,
        seed: UInt64,
        model: MatrixFactorizationModel,
        items: IdDictionary,
        list: inout [ScoredIndex]
    ) {
        let n = model.itemCount
        guard n > 0 else { return }
        var rng = RandomSource(seed: seed)
        for slot in list.indices where rng.nextUnitDouble() < model.config.explorationEpsilon {
            for _ in 0..<16 {
                let j = Int32(rng.nextInt(below: n))
                guard items.isLive(j), !(user != nil && selector.seen.contains(j)),
                    !list.contains(where: { $0.index == j })
                else { continue }
                list[slot] = ScoredIndex(index: j, score: list[slot].score)
                break
            }
        }
    }
}
