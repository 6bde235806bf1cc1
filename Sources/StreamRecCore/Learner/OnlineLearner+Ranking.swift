// OnlineLearner's side of ranking: it gathers a user's inputs from the store (consumed items, recent
// items, cold-start weight, exploration seed) and hands them to the ``RankingPipeline``.
extension OnlineLearner {
    /// Top-`k` items for a user slot (nil = unknown user: popularity fallback), excluding consumed
    /// items and dead slots, written best-first into `output`. `pipeline` is the caller's reusable
    /// workspace. Non-mutating and deterministic: exploration draws from an RNG derived from (seed,
    /// user, events). With an item index (``setRanking(_:probes:buildThreshold:)``) MF candidates come
    /// from its probed lists unless `exact` is set.
    public func recommend(
        userSlot: Int32?,
        k: Int,
        pipeline: inout RankingPipeline,
        into output: inout [ScoredIndex],
        exact: Bool = false
    ) {
        let live: Int32? = userSlot.flatMap { users.isLive($0) ? $0 : nil }
        let source: RankingRequest.Source
        var cold: Float = 0
        if let u = live {
            switch config.ranker {
            case .mf:
                source = .mf(user: u, exact: exact)
                cold = coldStartWeight(user: u)
                if config.sequenceContext > 0 {
                    store.recentItems(of: u, into: &pipeline.sequenceContext, limit: config.sequenceContext)
                } else {
                    pipeline.sequenceContext.removeAll(keepingCapacity: true)
                }
                if config.neighborWidth > 0 {
                    store.recentItems(of: u, into: &pipeline.neighborContext, limit: config.neighborContext)
                } else {
                    pipeline.neighborContext.removeAll(keepingCapacity: true)
                }
            case .popularity:
                source = .popularity(user: u, recent: false)
            case .random:
                // Deterministic per (user, event count) so ranking never perturbs the learner's RNG.
                source = .random(user: u, seed: config.seed ^ (UInt64(u) << 32) ^ UInt64(counters.events))
            }
        } else {
            source = .popularity(user: nil, recent: config.coldStartUserEvents > 0)
        }
        // Exploration's stream of its own, derived from (seed, user, event count).
        let explorationSeed =
            (config.seed &* 0x9E37_79B9_7F4A_7C15) ^ 0xE8_9107_E5
            ^ (UInt64(UInt32(bitPattern: live ?? -1)) << 32) ^ UInt64(counters.events)
        pipeline.rank(
            RankingRequest(
                source: source,
                k: k,
                seen: live.map { store.seenItems(of: $0) } ?? [],
                coldStartWeight: cold,
                explorationSeed: explorationSeed
            ),
            model: model,
            liveItems: items,
            into: &output
        )
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

    /// Convenience for callers holding string ids (allocates; not for hot loops).
    public func recommend(user: String, k: Int) -> [(item: String, score: Float)] {
        var pipeline = RankingPipeline()
        var out = [ScoredIndex]()
        recommend(userSlot: users.index(of: user), k: k, pipeline: &pipeline, into: &out)
        return out.compactMap { s in items.id(at: s.index).map { ($0, s.score) } }
    }
}
