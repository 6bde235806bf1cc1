// Approximate top-K: the model keeps an ``ItemIndex`` in step with its item vectors, and the learner
// ranks a user by scanning the probed lists exactly (same kernel, biases, sequence context, exclusions).

extension MatrixFactorizationModel {
    /// Switches ranking mode. `.approximate` builds the index now when the catalog is large enough (a
    /// deterministic function of the current state) and keeps an index restored from a snapshot as is.
    public mutating func setRanking(
        _ mode: RankingMode,
        probes: Int? = nil,
        buildThreshold: Int = ItemIndex.minimumItems
    ) {
        switch mode {
        case .exact:
            itemIndex = nil
        case .approximate:
            if itemIndex == nil {
                itemIndex = ItemIndex(dimension: config.factors, buildThreshold: buildThreshold)
                if itemIndex!.needsRebuild(itemCount: itemCount) { rebuildIndex() }
            }
            if let probes { itemIndex!.probes = max(1, probes) }
        }
    }

    public var ranking: RankingMode { itemIndex == nil ? .exact : .approximate }

    /// Item `i` changed (or is new): rebuild the centroids at a size milestone, else refresh its entry.
    mutating func syncIndex(_ i: Int32) {
        if itemIndex!.needsRebuild(itemCount: itemFactors.rows) {
            rebuildIndex()
            return
        }
        let bias = config.useItemBias ? itemBias[Int(i)] : 0
        let s = itemFactors.stride
        itemFactors.withUnsafeBufferPointer { V in
            itemIndex!.sync(item: Int(i), factors: V.baseAddress! + Int(i) * s, bias: bias)
        }
    }

    mutating func rebuildIndex() {
        // Moved out while rebuilding so the index is uniquely referenced (no copy-on-write of its lists).
        var index = itemIndex!
        itemIndex = nil
        index.rebuild(factors: itemFactors, biases: config.useItemBias ? itemBias : nil)
        itemIndex = index
    }

    /// Restores an index from its snapshot encoding against this model's item vectors.
    mutating func restoreIndex(from bytes: [UInt8]) throws(BinaryReader.Failure) {
        var r = BinaryReader(bytes)
        itemIndex = try ItemIndex.decode(from: &r, factors: itemFactors, biases: config.useItemBias ? itemBias : nil)
        guard r.remaining == 0 else { throw .init(description: "trailing bytes after the item index") }
    }

    func encodedIndex() -> [UInt8]? {
        guard let itemIndex else { return nil }
        var w = BinaryWriter()
        itemIndex.encode(into: &w)
        return w.bytes
    }
}

extension OnlineLearner {
    /// Ranks `u` with the item index into `selector`. Returns false (selector reset) when the index can't
    /// answer: not built yet (small catalog), scoring extras that aren't item-additive to the index's score
    /// (uncertainty bonus, cold-start blend), or fewer than K admissible candidates in the probed lists.
    /// With the item-neighbour blend on, probed items get the blend terms too, and the candidates the
    /// blend can lift from outside the probed lists (neighbours of recent items, popular items) are added.
    func rankApproximately(user u: Int32, selector: inout TopKSelector) -> Bool {
        guard let probes = model.itemIndex?.probes, model.itemIndex?.isBuilt == true,
            config.uncertaintyBonus == 0, coldStartWeight(user: u) == 0
        else { return false }
        var query: [Float] = []
        var recent: [Int32] = []
        var order: [ScoredIndex] = []
        var neighborScores: [Float] = []
        var neighborContext: [Int32] = []
        var probed: [Bool] = []
        swap(&query, &selector.query)
        swap(&recent, &selector.recent)
        swap(&order, &selector.probeOrder)
        swap(&neighborScores, &selector.neighborScores)
        swap(&neighborContext, &selector.neighborContext)
        swap(&probed, &selector.probedLists)
        defer {
            clearNeighborScores(context: neighborContext, scores: &neighborScores)
            for o in order where Int(o.index) < probed.count { probed[Int(o.index)] = false }
            swap(&query, &selector.query)
            swap(&recent, &selector.recent)
            swap(&order, &selector.probeOrder)
            swap(&neighborScores, &selector.neighborScores)
            swap(&neighborContext, &selector.neighborContext)
            swap(&probed, &selector.probedLists)
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
        model.windowLog.withUnsafeBufferPointer { WL in
            neighborScores.withUnsafeBufferPointer { NS in
                query.withUnsafeBufferPointer { Q in
                    model.itemIndex!.forEachProbedBlock(query: Q.baseAddress!, probes: probes, order: &order) {
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
                        offerMembers(members, first: first, scores: scores, user: u, selector: &selector)
                    }
                }
            }
        }
        if blend {
            // The blend can lift items the MF query doesn't retrieve: the co-occurrence neighbours of the
            // user's recent items, and recently popular items. Both are re-scored exactly and offered when
            // their inverted list wasn't probed (otherwise they were offered already).
            let index = model.itemIndex!
            if probed.count < index.listCount {
                probed.append(contentsOf: repeatElement(false, count: index.listCount - probed.count))
            }
            for o in order { probed[Int(o.index)] = true }
            let queryNorm = query.withUnsafeBufferPointer { Q in
                VectorKernels.dot(Q.baseAddress!, Q.baseAddress!, stride: query.count).squareRoot()
            }
            let biased = model.config.useItemBias
            func extra(_ j: Int32) {
                guard Int(j) < index.itemCount, !probed[index.list(ofItem: Int(j))] else { return }
                // Skip the random row load when even q · v ≤ |q| |v| can't lift the item past the K-th
                // score: the bound is exact math, the slack covers float rounding, so lists don't change.
                let neighbor = neighborScores[Int(j)]
                let popular = popularityBlend * model.windowLog[Int(j)]
                let rest = neighbor + popular + (biased ? model.itemBias[Int(j)] : 0)
                let reach = queryNorm * index.factorNorm(ofItem: Int(j))
                let bound = reach + rest + Self.boundSlack * (reach + abs(rest))
                if selector.isFull, bound < selector.threshold { return }
                let c = ScoredIndex(index: j, score: model.score(query: query, item: j) + neighbor + popular)
                assert(c.score <= bound + 1e-6, "item \(j)'s norm is stale: score \(c.score) above its bound \(bound)")
                if selector.admits(c) && !selector.seen.contains(j) && items.isLive(j) { selector.offer(c) }
            }
            // A neighbour shared by several context items is offered once: its dense score is cleared
            // after its first offer and restored by the `defer` clearing (which zeroes it anyway).
            for x in neighborContext {
                model.neighbors.forEachNeighbor(of: x) { j, _ in
                    if neighborScores[Int(j)] != 0 {
                        extra(j)
                        neighborScores[Int(j)] = 0
                    }
                }
            }
            if popularityBlend > 0 { for j in model.popularityLeaders.slots { extra(j) } }
        }
        if selector.isFull { return true }
        selector.reset(k: selector.k)
        return false
    }

    /// Relative slack on a Cauchy–Schwarz score bound: float dot products of k ≤ 1024 terms err by far
    /// less (≈ k · 2⁻²⁴ of |q| |v|), so a candidate is never skipped that could have entered.
    static var boundSlack: Float { 1e-3 }

    /// ``offerBlock`` for a block of an inverted list: lanes map to item slots through `members`.
    @inline(__always)
    private func offerMembers(
        _ members: UnsafeBufferPointer<Int32>,
        first: Int,
        scores: SIMD8<Float>,
        user u: Int32,
        selector: inout TopKSelector
    ) {
        let a = scores.lowHalf
        let b = scores.highHalf
        let m4 = a.replacing(with: b, where: b .> a)
        let c = m4.lowHalf
        let d = m4.highHalf
        let m2 = c.replacing(with: d, where: d .> c)
        guard (m2[0] > m2[1] ? m2[0] : m2[1]) >= selector.threshold else { return }
        assert(selector.seen.user == u, "the selector's seen set belongs to another user")
        for lane in 0..<min(8, members.count - first) {
            let c = ScoredIndex(index: members[first + lane], score: scores[lane])
            if selector.admits(c) && !selector.seen.contains(c.index) && items.isLive(c.index) {
                selector.offer(c)
            }
        }
    }

    /// Fraction of `exact`'s items that `approximate` also lists (1 when `exact` is empty).
    public static func overlap(_ approximate: [ScoredIndex], _ exact: [ScoredIndex]) -> Double {
        guard !exact.isEmpty else { return 1 }
        var shared = 0
        for e in exact where approximate.contains(where: { $0.index == e.index }) { shared += 1 }
        return Double(shared) / Double(exact.count)
    }
}
