// Approximate top-K: the model keeps an ``ItemIndex`` in step with its item vectors, and the learner
// ranks a user by scanning the probed lists exactly (same kernel, biases, sequence context, exclusions).

extension MatrixFactorizationModel {
    /// Switches ranking mode. `.approximate` builds the index now when the catalog is large enough (a
    /// deterministic function of the current state) and keeps an index restored from a snapshot as is.
    public mutating func setRanking(_ mode: RankingMode, probes: Int? = nil, buildThreshold: Int = ItemIndex.minimumItems) {
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
    func rankApproximately(user u: Int32, selector: inout TopKSelector) -> Bool {
        guard let probes = model.itemIndex?.probes, model.itemIndex?.isBuilt == true,
              config.uncertaintyBonus == 0, coldStartWeight(user: u) == 0
        else { return false }
        var query: [Float] = [], recent: [Int32] = [], order: [ScoredIndex] = []
        swap(&query, &selector.query)
        swap(&recent, &selector.recent)
        swap(&order, &selector.probeOrder)
        defer {
            swap(&query, &selector.query)
            swap(&recent, &selector.recent)
            swap(&order, &selector.probeOrder)
        }
        if config.sequenceContext > 0 {
            store.recentItems(of: u, into: &recent, limit: config.sequenceContext)
        } else {
            recent.removeAll(keepingCapacity: true)
        }
        model.contextQuery(user: u, context: recent, into: &query)
        query.withUnsafeBufferPointer { Q in
            model.itemIndex!.forEachProbedBlock(query: Q.baseAddress!, probes: probes, order: &order) { members, first, scores in
                offerMembers(members, first: first, scores: scores, user: u, selector: &selector)
            }
        }
        if selector.isFull { return true }
        selector.reset(k: selector.k)
        return false
    }

    /// ``offerBlock`` for a block of an inverted list: lanes map to item slots through `members`.
    @inline(__always)
    private func offerMembers(
        _ members: UnsafeBufferPointer<Int32>, first: Int, scores: SIMD8<Float>, user u: Int32,
        selector: inout TopKSelector
    ) {
        let a = scores.lowHalf, b = scores.highHalf
        let m4 = a.replacing(with: b, where: b .> a)
        let c = m4.lowHalf, d = m4.highHalf
        let m2 = c.replacing(with: d, where: d .> c)
        guard (m2[0] > m2[1] ? m2[0] : m2[1]) >= selector.threshold else { return }
        for lane in 0..<min(8, members.count - first) {
            let c = ScoredIndex(index: members[first + lane], score: scores[lane])
            if selector.admits(c) && !store.hasSeen(user: u, item: c.index) && items.isLive(c.index) {
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
