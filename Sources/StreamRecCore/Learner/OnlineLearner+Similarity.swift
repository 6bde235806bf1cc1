extension OnlineLearner {
    /// The `k` live items whose factor vectors have the highest cosine similarity with item slot `item`
    /// (the item itself excluded), best first, written into `output`; `selector` is reusable scratch.
    ///
    /// Cosine rather than the dot product so that popular items with long vectors don't dominate every
    /// list. One pass over the contiguous factor rows with SIMD dot products (``VectorKernels``); items
    /// with an all-zero vector have no direction and are skipped.
    public func similarItems(
        toItemSlot item: Int32,
        k: Int,
        selector: inout TopKSelector,
        into output: inout [ScoredIndex]
    ) {
        selector.reset(k: k)
        let factors = model.itemFactors
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
