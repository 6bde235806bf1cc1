/// What a replay accumulates while scoring (snapshot state: resumes continue the same totals).
struct ReplayScores: Sendable {
    var evaluator: PrequentialEvaluator
    var repeatsSkipped: Int64 = 0
    var overlapSum: Double = 0
    var overlapSamples: Int64 = 0
}

/// The replay's observer for ``PrequentialStep``: ranks the user's top-K with the model before the event
/// and scores it against the event's item (past the warm-up), optionally hands the list out as `serve`
/// would have produced it, and samples the approximate index's overlap with exact ranking.
struct ReplayScoring: PrequentialObserver {
    var scores: ReplayScores
    /// Index of the event being observed; set by the replay before each step.
    var eventIndex: Int64 = 0
    /// False during warm-up: the step only trains.
    var scoring = false
    let k: Int
    let measureDiversity: Bool
    let overlapEvery: Int
    let sampleOverlap: Bool
    let lists: ((RecommendationList) -> Void)?
    // Scratch reused across events.
    var pipeline: RankingPipeline
    var list: [ScoredIndex] = []
    var exactList: [ScoredIndex] = []

    init(
        scores: ReplayScores,
        options: ReplayOptions,
        learner: OnlineLearner,
        lists: ((RecommendationList) -> Void)?
    ) {
        self.scores = scores
        k = options.k
        measureDiversity = options.measureDiversity && learner.config.ranker == .mf
        overlapEvery = options.overlapEvery
        sampleOverlap = options.overlapEvery > 0 && learner.model.itemIndex != nil && learner.config.ranker == .mf
        self.lists = lists
        pipeline = RankingPipeline()
        list.reserveCapacity(options.k)
    }

    mutating func observe(_ event: Event, learner: OnlineLearner) {
        guard scoring else { return }
        switch learner.probe(user: event.user, item: event.item, k: k, pipeline: &pipeline, into: &list) {
        case .repeatConsumption:
            scores.repeatsSkipped += 1
        case .ranked(let target):
            let user = learner.users.index(of: event.user)
            if let lists, eventIndex > 0 {
                lists(
                    Self.producedList(
                        for: event,
                        at: eventIndex,
                        userSlot: user,
                        ranked: list,
                        pipeline: pipeline,
                        learner: learner
                    )
                )
            }
            scores.evaluator.record(
                eventIndex: eventIndex,
                recommended: list,
                target: target,
                learner: learner,
                measureDiversity: measureDiversity,
                user: user
            )
            if sampleOverlap, scores.evaluator.totals.scored % Int64(overlapEvery) == 0, let u = user {
                learner.recommend(userSlot: u, k: k, pipeline: &pipeline, into: &exactList, exact: true)
                scores.overlapSum += RankingPipeline.overlap(list, exactList)
                scores.overlapSamples += 1
            }
        }
    }

    /// The list scored against `events[position]` as `serve` would produce it, with exploration
    /// propensities when ε > 0. Its `source_offset` names the previous event (topic "replay", partition 0,
    /// offset = position − 1): the model state it was ranked on, so "the user's next event after the source
    /// offset" is the event it is scored against — the join `evaluate-policy` uses. `ts` is the event time.
    static func producedList(
        for event: Event,
        at position: Int64,
        userSlot: Int32?,
        ranked: [ScoredIndex],
        pipeline: RankingPipeline,
        learner: OnlineLearner
    ) -> RecommendationList {
        learner.recommendationList(
            user: event.user,
            userSlot: userSlot,
            ranked: ranked,
            propensitiesFrom: pipeline,
            timestamp: max(0, event.timestamp),
            sourceOffset: SourceOffset(topic: "replay", partition: 0, offset: position - 1)
        )
    }
}
