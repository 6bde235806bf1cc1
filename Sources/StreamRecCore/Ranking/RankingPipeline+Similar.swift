// Item-to-item similarity: the query is an item's factor vector instead of a user's.
extension RankingPipeline {
    /// Cosine rather than the dot product so that popular items with long vectors don't dominate every
    /// list. One pass over the contiguous factor rows; items with an all-zero vector have no direction
    /// and are skipped.
    mutating func rankSimilar(
        to item: Int32,
        k: Int,
        model: MatrixFactorizationModel,
        liveItems items: IdDictionary,
        into output: inout [ScoredIndex]
    ) {
        selector.reset(k: k)
        let factors = model.factors.items
        guard items.isLive(item), Int(item) < factors.rows else {
            output.removeAll(keepingCapacity: true)
            return
        }
        let stride = factors.stride
        factors.withUnsafeBufferPointer { V in
            let base = V.baseAddress!
            let q = base + Int(item) * stride
            let qNorm = VectorKernels.norm(q, stride: stride)
            guard qNorm > 0, qNorm.isFinite else { return }
            for j in 0..<factors.rows where j != Int(item) {
                let p = base + j * stride
                let norm = VectorKernels.norm(p, stride: stride)
                guard norm > 0 else { continue }
                let c = ScoredIndex(
                    index: Int32(j),
                    score: VectorKernels.cosine(q, p, normA: qNorm, normB: norm, stride: stride)
                )
                if selector.admits(c) && items.isLive(c.index) { selector.offer(c) }
            }
        }
        selector.sorted(into: &output)
    }
}
