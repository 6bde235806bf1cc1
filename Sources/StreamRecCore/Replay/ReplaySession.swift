public import Foundation

/// Options of a prequential replay.
public struct ReplayOptions: Sendable {
    /// List length scored (K in recall@K etc.).
    public var k: Int = 10
    /// Leading fraction of the log used to train without scoring.
    public var warmupFraction: Double = 0
    /// Scored events per metrics window.
    public var windowSize: Int = 10_000
    public var weights = EventWeights()
    /// Take a snapshot every this many events (needs a snapshot store).
    public var snapshotEvery: Int64? = nil
    /// Stop after this many events of the log have been consumed (partial runs, interruption tests).
    public var stopAfter: Int64? = nil
    /// Measure intra-list diversity (costs O(K² k) per scored event).
    public var measureDiversity: Bool = true
    /// Unconsumed items sampled per scored event for AUC (0 = no AUC).
    public var aucSamples: Int = 100
    /// MF ranking: exact, or through the item index (``ItemIndex``; exact below 4,096 items). Approximate
    /// by default, as in `serve`: the measured recall@10 difference was < 0.1% (bench/README.md).
    public var ranking: RankingMode = .approximate
    /// With approximate ranking, every this many scored events the exact list is ranked too and the
    /// overlap reported (0 = never).
    public var overlapEvery: Int = 50

    public init() {}
}

/// The outcome of a replay: what the README table and `--report` JSON show.
public struct ReplayReport: Sendable, Codable, Equatable {
    public var ranker: String
    public var configJSON: String
    public var k: Int
    public var totalEvents: Int64
    public var warmupEvents: Int64
    public var consumedEvents: Int64
    public var scoredEvents: Int64
    public var repeatEventsSkipped: Int64
    public var recall: Double
    public var ndcg: Double
    public var mrr: Double
    public var coverage: Double
    public var novelty: Double
    public var diversity: Double?
    /// Mean sampled AUC (event's item vs ``aucSamples`` unconsumed items); nil when off or nothing measured.
    public var auc: Double?
    public var aucSamples: Int
    public var precision: Double
    public var f1: Double
    /// Exposure over all scored lists: Gini over the live catalog, Shannon entropy in bits.
    public var exposureGini: Double
    public var exposureEntropy: Double
    /// Share of scored lists with at least one item outside the top-1% most popular.
    public var longTailShare: Double
    /// Events per second over the events this process handled (rank + learn).
    public var eventsPerSecond: Double
    public var seconds: Double
    public var users: Int
    public var items: Int
    public var counters: LearnerCounters
    public var windows: [WindowMetrics]
    public var resumedFrom: Int64?
    /// Ranking mode, and with `approximate` the mean overlap of sampled lists with exact top-K lists.
    public var ranking: String? = nil
    public var indexOverlap: Double? = nil
    public var indexOverlapSamples: Int64? = nil
}

/// A resumable prequential replay over an in-memory, time-ordered event log.
///
/// For every event: rank the user's top-K with the current model, score it against the event's item,
/// then learn from the event (test-then-train). Re-consumptions are not scored (consumed items are
/// excluded from lists by design, so they would be guaranteed misses); new users get the popularity
/// fallback and new items count as misses, as they would in production.
public struct ReplaySession: Sendable {
    public static let evaluatorExtensionKey = "replay.evaluator"

    public private(set) var learner: OnlineLearner
    public var evaluator: PrequentialEvaluator { scores.evaluator }
    /// Index of the next event of the log to consume.
    public private(set) var position: Int64
    public let options: ReplayOptions
    private var scores: ReplayScores
    private let resumedFrom: Int64?

    public init(config: ModelConfig, options: ReplayOptions) throws(ConfigError) {
        learner = try OnlineLearner(config: config)
        learner.setRanking(learner.config.ranker == .mf ? options.ranking : .exact)
        scores = ReplayScores(evaluator: Self.freshEvaluator(options: options, seed: config.seed))
        position = 0
        self.options = options
        resumedFrom = nil
    }

    /// Resumes from a snapshot written by a replay (model, RNG, store, metrics and position).
    public init(resuming snapshot: LearnerSnapshot, options: ReplayOptions) throws(SnapshotError) {
        learner = snapshot.learner
        learner.setRanking(learner.config.ranker == .mf ? options.ranking : .exact)
        position = snapshot.position.eventsConsumed
        self.options = options
        resumedFrom = snapshot.position.eventsConsumed
        if let blob = snapshot.extensions[Self.evaluatorExtensionKey] {
            guard let state = try? JSONDecoder().decode(ResumeState.self, from: Data(blob)) else {
                throw SnapshotError(.corrupt("replay metrics state does not decode"))
            }
            scores = ReplayScores(
                evaluator: state.evaluator,
                repeatsSkipped: state.repeatsSkipped,
                overlapSum: state.overlapSum ?? 0,
                overlapSamples: state.overlapSamples ?? 0
            )
        } else {
            scores = ReplayScores(evaluator: Self.freshEvaluator(options: options, seed: snapshot.learner.config.seed))
        }
    }

    static func freshEvaluator(options: ReplayOptions, seed: UInt64) -> PrequentialEvaluator {
        PrequentialEvaluator(
            k: options.k,
            windowSize: options.windowSize,
            aucSamples: options.aucSamples,
            aucSeed: seed
        )
    }

    /// Attaches the item catalog for cold-start item initialization (also after resuming: the catalog
    /// is an input, not snapshot state).
    public mutating func attach(catalog: ItemCatalog?) { learner.attach(catalog: catalog) }

    /// Lists probed per query by approximate ranking (a query-time knob; no effect on exact ranking).
    public mutating func setProbes(_ probes: Int) {
        if learner.model.itemIndex != nil { learner.setRanking(.approximate, probes: probes) }
    }

    private struct ResumeState: Codable {
        var evaluator: PrequentialEvaluator
        var repeatsSkipped: Int64
        var overlapSum: Double?
        var overlapSamples: Int64?
    }

    /// The snapshot of the current state (model + metrics + position).
    public func snapshot(createdAt: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) -> LearnerSnapshot {
        let state = ResumeState(
            evaluator: scores.evaluator,
            repeatsSkipped: scores.repeatsSkipped,
            overlapSum: scores.overlapSamples > 0 ? scores.overlapSum : nil,
            overlapSamples: scores.overlapSamples > 0 ? scores.overlapSamples : nil
        )
        let blob = (try? JSONEncoder.sorted.encode(state)).map { [UInt8]($0) } ?? []
        return LearnerSnapshot(
            learner: learner,
            position: SourcePosition(eventsConsumed: position),
            createdAt: createdAt,
            extensions: [Self.evaluatorExtensionKey: blob]
        )
    }

    /// Replays `events[position...]`. `progress` is called every `progressEvery` events with
    /// (consumed, total). `lists`, when given, receives every scored list (see ``ReplayScoring/producedList(for:at:userSlot:ranked:selector:learner:)``).
    public mutating func run(
        events: [Event],
        snapshots: SnapshotStore? = nil,
        progressEvery: Int = 10_000,
        progress: ((Int64, Int64) -> Void)? = nil,
        lists: ((RecommendationList) -> Void)? = nil  // last, so a trailing closure still means `progress`
    ) throws(SnapshotError) -> ReplayReport {
        let total = Int64(events.count)
        let warmup = Int64((options.warmupFraction * Double(total)).rounded(.down))
        let end = min(total, options.stopAfter ?? total)
        let started = ContinuousClock.now
        let startPosition = position
        let measureDiversity = options.measureDiversity && learner.config.ranker == .mf
        let step = PrequentialStep(weights: options.weights)
        var scoring = ReplayScoring(scores: scores, options: options, learner: learner, lists: lists)
        // The observer owns the running scores while the loop runs; they are handed back before every
        // snapshot and at the end (and on a failed snapshot write, before it throws).
        defer { scores = scoring.scores }

        while position < end {
            scoring.eventIndex = position
            scoring.scoring = position >= warmup
            // A diverging step is rolled back and counted by the learner; the replay goes on.
            step.apply(events[Int(position)], to: &learner, observer: &scoring)
            position += 1
            if let every = options.snapshotEvery, let store = snapshots, every > 0, position % every == 0 {
                scores = scoring.scores
                try store.write(snapshot())
            }
            if let progress, position % Int64(progressEvery) == 0 { progress(position, total) }
        }
        if position == total { scoring.scores.evaluator.finish(endEvent: total - 1, catalog: learner.items.count) }
        scores = scoring.scores
        let evaluator = scores.evaluator
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let t = evaluator.totals
        var report = ReplayReport(
            ranker: learner.config.ranker.rawValue,
            configJSON: learner.config.canonicalJSON,
            k: options.k,
            totalEvents: total,
            warmupEvents: min(warmup, total),
            consumedEvents: position,
            scoredEvents: t.scored,
            repeatEventsSkipped: scores.repeatsSkipped,
            recall: t.recall,
            ndcg: t.ndcg,
            mrr: t.mrr,
            coverage: evaluator.coverage(catalog: learner.items.count),
            novelty: t.novelty,
            diversity: measureDiversity ? t.diversity : nil,
            auc: t.auc,
            aucSamples: evaluator.auc.samples,
            precision: t.precision(k: options.k),
            f1: t.f1(k: options.k),
            exposureGini: evaluator.exposure.gini(catalog: learner.items.count),
            exposureEntropy: evaluator.exposure.entropy(),
            longTailShare: t.longTailShare,
            eventsPerSecond: seconds > 0 ? Double(position - startPosition) / seconds : 0,
            seconds: seconds,
            users: learner.users.count,
            items: learner.items.count,
            counters: learner.counters,
            windows: evaluator.windows,
            resumedFrom: resumedFrom
        )
        if learner.config.ranker == .mf {
            report.ranking = learner.model.ranking.rawValue
            if scores.overlapSamples > 0 {
                report.indexOverlap = scores.overlapSum / Double(scores.overlapSamples)
                report.indexOverlapSamples = scores.overlapSamples
            }
        }
        return report
    }
}
