extension OnlineLearner {
    /// The one way from ranked slots to a ``RecommendationList`` (serve, the HTTP API, replay's
    /// `--lists`), so every list carries the same fallback flag and exploration propensities.
    /// - Parameters:
    ///   - user: the user's id; `userSlot` its slot (nil = unknown user).
    ///   - ranked: ``recommend(userSlot:k:pipeline:into:exact:)``'s output, best first.
    ///   - timestamp: milliseconds since the epoch written as the list's `ts`.
    ///   - modelVersion: ``modelVersion``, when the caller builds many lists from one model state.
    public func recommendationList(
        user: String,
        userSlot: Int32?,
        ranked: [ScoredIndex],
        propensitiesFrom pipeline: RankingPipeline? = nil,
        timestamp: Int64,
        sourceOffset: SourceOffset? = nil,
        modelVersion version: String? = nil
    ) -> RecommendationList {
        let p = pipeline.flatMap { explorationPropensities(userSlot: userSlot, list: ranked, pipeline: $0) }
        return RecommendationList(
            user: user,
            items: ranked.indices.compactMap { n in
                items.id(at: ranked[n].index).map {
                    ScoredItem(item: $0, score: ranked[n].score, propensity: p?.slot[n], listPropensity: p?.list[n])
                }
            },
            modelVersion: version ?? modelVersion,
            timestamp: timestamp,
            sourceOffset: sourceOffset,
            fallback: userSlot == nil ? "popularity" : nil
        )
    }
}
