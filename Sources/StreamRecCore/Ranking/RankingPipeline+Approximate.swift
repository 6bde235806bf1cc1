#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

// The approximate strategy: the probed inverted lists of the model's ``ItemIndex`` are scanned exactly
// (same kernel, biases, sequence context, exclusions).
extension RankingPipeline {
    /// Ranks `u` with the item index. Returns false (selector reset) when the index can't answer: not
    /// built yet (small catalog), scoring extras that aren't item-additive to the index's score
    /// (uncertainty bonus, cold-start blend), or fewer than K admissible candidates in the probed lists.
    /// With the item-neighbour blend on, probed items get the blend terms too, and the candidates the
    /// blend can lift from outside the probed lists (neighbours of recent items, popular items) are added.
    mutating func rankApproximately(
        user u: Int32,
        cold: Float,
        model: MatrixFactorizationModel,
        items: IdDictionary
    ) -> Bool {
        let config = model.config
        guard let probes = model.factors.index?.probes, model.factors.index?.isBuilt == true,
            config.uncertaintyBonus == 0, cold == 0
        else { return false }
        prepareInputs(user: u, model: model)
        defer {
            clearNeighborScores(model: model)
            for o in probeOrder where Int(o.index) < probedLists.count { probedLists[Int(o.index)] = false }
        }
        let blend = config.neighborWidth > 0
        let popularityBlend = model.blend.popularityWeight
        model.statistics.windowLog.withUnsafeBufferPointer { WL in
            neighborScores.withUnsafeBufferPointer { NS in
                query.withUnsafeBufferPointer { Q in
                    model.factors.index!.forEachProbedBlock(query: Q.baseAddress!, probes: probes, order: &probeOrder) {
                        members,
                        first,
                        raw in
                        var scores = raw
                        if blend {
                            // Blend terms are per item, gathered through the list's member slots.
                            for lane in 0..<min(8, members.count - first) {
                                let j = Int(members[first + lane])
                                scores[lane] += NS[j] + popularityBlend * WL[j]
                            }
                        }
                        selector.offerMembers(members, first: first, scores: scores, items: items)
                    }
                }
            }
        }
        if blend { offerBlendCandidates(model: model, items: items) }
        if selector.isFull { return true }
        selector.reset(k: selector.k)
        return false
    }

    /// The blend can lift items the MF query doesn't retrieve: the co-occurrence neighbours of the
    /// user's recent items, and recently popular items. Both are re-scored exactly and offered when
    /// their inverted list wasn't probed (otherwise they were offered already).
    private mutating func offerBlendCandidates(model: MatrixFactorizationModel, items: IdDictionary) {
        let popularityBlend = model.blend.popularityWeight
        let index = model.factors.index!
        if probedLists.count < index.listCount {
            probedLists.append(contentsOf: repeatElement(false, count: index.listCount - probedLists.count))
        }
        for o in probeOrder { probedLists[Int(o.index)] = true }
        let queryNorm = query.withUnsafeBufferPointer { Q in
            VectorKernels.dot(Q.baseAddress!, Q.baseAddress!, stride: query.count).squareRoot()
        }
        let biased = model.config.useItemBias
        func extra(_ j: Int32) {
            guard Int(j) < index.itemCount, !probedLists[index.list(ofItem: Int(j))] else { return }
            // Skip the random row load when even q · v ≤ |q| |v| can't lift the item past the K-th
            // score: the bound is exact math, the slack covers float rounding, so lists don't change.
            let neighbor = neighborScores[Int(j)]
            let popular = popularityBlend * model.statistics.windowLog[Int(j)]
            let rest = neighbor + popular + (biased ? model.factors.itemBias[Int(j)] : 0)
            let reach = queryNorm * index.factorNorm(ofItem: Int(j))
            let bound = reach + rest + Self.boundSlack * (reach + abs(rest))
            if selector.isFull, bound < selector.threshold { return }
            let c = ScoredIndex(index: j, score: model.score(query: query, item: j) + neighbor + popular)
            assert(c.score <= bound + 1e-6, "item \(j)'s norm is stale: score \(c.score) above its bound \(bound)")
            if selector.admits(c) && !selector.seen.contains(j) && items.isLive(j) { selector.offer(c) }
        }
        // A neighbour shared by several context items is offered once: its dense score is cleared after
        // its first offer (the clearing after ranking zeroes it anyway).
        for x in neighborContext {
            model.blend.neighbors.forEachNeighbor(of: x) { j, _ in
                if neighborScores[Int(j)] != 0 {
                    extra(j)
                    neighborScores[Int(j)] = 0
                }
            }
        }
        if popularityBlend > 0 { for j in model.statistics.leaders.slots { extra(j) } }
    }

    /// Relative slack on a Cauchy–Schwarz score bound: float dot products of k ≤ 1024 terms err by far
    /// less (≈ k · 2⁻²⁴ of |q| |v|), so a candidate is never skipped that could have entered.
    static var boundSlack: Float { 1e-3 }
}
