import Foundation
import StreamRecCore

/// Ranks the due users' top-K with the current model and encodes each as a ``RecommendationList``
/// JSON message keyed by user, written into the output sink's buffer. All due users of one poll are
/// ranked under one read of the learner, the seam where batched ranking (several users per pass over
/// the item factors) plugs in.
struct ListRanker {
    let k: Int
    private let metrics: StreamRecMetrics
    // Scratch reused across batches.
    private var selector: RankingPipeline
    private var ranked: [ScoredIndex] = []

    init(k: Int, metrics: StreamRecMetrics) {
        self.k = k
        self.metrics = metrics
        selector = RankingPipeline()
    }

    /// Appends one (key, JSON) message per due user that still exists to `output`.
    mutating func rank(_ due: [RefreshCoalescer.Due], learner: LiveLearner, into output: OutputSink) {
        guard !due.isEmpty else { return }
        let wallClock = Int64(Date().timeIntervalSince1970 * 1000)
        learner.read { learner in
            let version = learner.modelVersion
            for d in due {
                guard let user = learner.users.id(at: d.slot) else { continue }
                let rankStarted = ContinuousClock.now
                learner.recommend(userSlot: d.slot, k: k, pipeline: &selector, into: &ranked)
                metrics.recordTopK(ContinuousClock.now - rankStarted, source: .stream)
                if learner.config.explorationEpsilon > 0 {
                    // ε-greedy lists carry per-slot propensities, which only the list builder writes.
                    let list = learner.recommendationList(
                        user: user,
                        userSlot: d.slot,
                        ranked: ranked,
                        propensitiesFrom: selector,
                        timestamp: wallClock,
                        sourceOffset: d.source,
                        modelVersion: version
                    )
                    output.enqueueList(key: user) { $0.append(contentsOf: list.jsonBytes()) }
                } else {
                    // Straight into the sink's reused buffer: the same bytes without building the list.
                    output.enqueueList(key: user) { out in
                        learner.appendRecommendationJSON(
                            user: user,
                            userSlot: d.slot,
                            ranked: ranked,
                            timestamp: wallClock,
                            sourceOffset: d.source,
                            modelVersion: version,
                            to: &out
                        )
                    }
                }
            }
        }
    }
}
