extension OnlineLearner {
    /// The `k` live items most similar to item slot `item` (cosine of factor vectors), best first,
    /// written into `output`; `pipeline` is reusable scratch (see ``RankingPipeline``).
    public func similarItems(
        toItemSlot item: Int32,
        k: Int,
        pipeline: inout RankingPipeline,
        into output: inout [ScoredIndex]
    ) {
        pipeline.rankSimilar(to: item, k: k, model: model, liveItems: items, into: &output)
    }
}
