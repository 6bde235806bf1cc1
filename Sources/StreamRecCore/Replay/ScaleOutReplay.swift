import Foundation

/// Settings of a simulated scale-out replay (`replay --learners N --sync-interval D`).
public struct ScaleOutOptions: Sendable, Equatable {
    /// Simulated learners (each owns a share of the partitions).
    public var learners: Int = 1
    /// Partitions users are hashed to (nil = one per learner).
    public var partitions: Int? = nil
    /// The producer's key partitioner (librdkafka default crc32, Java client murmur2).
    public var partitioner: KafkaPartitioner = .crc32
    /// Event time between item-state merges, ms; 0 = never share item state.
    public var syncInterval: Int64 = 0
    public var merge: ItemMergeRule = .sum
    /// Also share the item–item co-occurrence table (as replayed pair ops, see ``ItemDeltaBatch/pairOps``).
    /// On by default: on ML-100K, 4 learners at 60 s reached 0.94× the single learner's recall@10 without
    /// it and 1.0× with it, for ~4% more sync bytes (docs/scale-out.md).
    public var shareNeighbors: Bool = true

    public init() {}

    public var partitionCount: Int { partitions ?? learners }

    public func validate() throws(ConfigError) {
        guard learners >= 1 && learners <= 1024 else {
            throw ConfigError(field: "learners", message: "must be in 1...1024")
        }
        guard partitionCount >= learners && partitionCount <= 100_000 else {
            throw ConfigError(
                field: "partitions",
                message: "must be in learners...100000 (a learner without partitions idles)"
            )
        }
        guard syncInterval >= 0 else { throw ConfigError(field: "syncInterval", message: "must be >= 0") }
    }

    /// Kafka's default range assignment for one topic: learner c gets a contiguous run of partitions,
    /// the first `P mod N` learners one extra.
    public func learner(ofPartition p: Int) -> Int {
        let n = learners
        let q = partitionCount / n
        let r = partitionCount % n
        let cut = r * (q + 1)
        return p < cut ? p / (q + 1) : r + (p - cut) / q
    }
}

/// What a scale-out replay adds to the replay report: its settings and the sync traffic.
public struct ScaleOutSummary: Sendable, Codable, Equatable {
    public var learners: Int
    public var partitions: Int
    public var partitioner: String
    /// Event time between merges (ms); 0 = item state never shared.
    public var syncIntervalMs: Int64
    public var merge: String
    public var shareNeighbors: Bool
    public var syncRounds: Int64
    /// Encoded sync batches (``ItemDeltaCodec``) published by all learners, and per event of the log.
    public var syncBytes: Int64
    public var syncBytesPerEvent: Double
    /// Item rows published (all learners), and per round.
    public var syncRows: Int64
    public var eventsPerLearner: [Int64]
    public var usersPerLearner: [Int]
    public var itemsPerLearner: [Int]
    /// With N > 1, coverage and exposure metrics count local item slots of whichever learner ranked the
    /// list, so they are approximate; accuracy metrics (recall, NDCG, MRR, AUC, novelty) are exact pools.
    public var slotMetricsApproximate: Bool
}

/// A deterministic simulation of N learners behind a partitioned topic: users are hashed to partitions
/// with the producer's partitioner, partitions range-assigned to learners; events are processed in log
/// order, each by its user's learner with the same test-then-train step as a single-learner replay, and
/// every `syncInterval` of event time all learners exchange item deltas (``ItemSyncReplica``), as they
/// would through a model-sync topic. With one learner it is exactly ``ReplaySession``.
public struct ScaleOutReplay: Sendable {
    public let options: ReplayOptions
    public let scaleOut: ScaleOutOptions
    public private(set) var learners: [OnlineLearner]
    public private(set) var replicas: [ItemSyncReplica]
    /// One pool of scores over all learners (accuracy sums are exact pools; see ``ScaleOutSummary``).
    private var scores: ReplayScores
    public var evaluator: PrequentialEvaluator { scores.evaluator }
    private var eventsPerLearner: [Int64]
    private var syncRounds: Int64 = 0
    private var syncBytes: Int64 = 0
    private var syncRows: Int64 = 0
    /// Random partitions for empty keys (librdkafka's `_random` fallback), from a seeded stream.
    private var keylessRNG: RandomSource

    public init(config: ModelConfig, options: ReplayOptions, scaleOut: ScaleOutOptions) throws(ConfigError) {
        try scaleOut.validate()
        // Learner 0 keeps the configured seed (so one learner is exactly a plain replay); the others get
        // seeds of their own, as separately started processes would.
        learners = []
        for i in 0..<scaleOut.learners {
            var c = config
            if i > 0 { c.seed = config.seed ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(i)) }
            var learner = try OnlineLearner(config: c)
            learner.setRanking(config.ranker == .mf ? options.ranking : .exact)
            learners.append(learner)
        }
        replicas = (0..<scaleOut.learners).map { ItemSyncReplica(publisher: UInt32($0), merge: scaleOut.merge) }
        scores = ReplayScores(evaluator: ReplaySession.freshEvaluator(options: options, seed: config.seed))
        eventsPerLearner = Array(repeating: 0, count: scaleOut.learners)
        keylessRNG = RandomSource(seed: config.seed ^ 0x5CA1_E0D7)
        self.options = options
        self.scaleOut = scaleOut
    }

    public mutating func attach(catalog: ItemCatalog?) {
        for i in learners.indices { learners[i].attach(catalog: catalog) }
    }

    public mutating func setProbes(_ probes: Int) {
        for i in learners.indices where learners[i].model.itemIndex != nil {
            learners[i].setRanking(.approximate, probes: probes)
        }
    }

    /// The learner that owns `user`'s partition.
    public mutating func owner(of user: String) -> Int {
        let p =
            scaleOut.partitioner.partition(key: user, partitions: scaleOut.partitionCount)
            ?? keylessRNG.nextInt(below: scaleOut.partitionCount)
        return scaleOut.learner(ofPartition: p)
    }

    /// One sync round: every learner publishes its batch (encoded, so the byte count is the wire size),
    /// then every learner applies all of them in publisher order.
    public mutating func syncRound() {
        var batches: [ItemDeltaBatch] = []
        batches.reserveCapacity(learners.count)
        for i in learners.indices {
            let batch = replicas[i].collect(from: learners[i])
            if !batch.isEmpty {
                syncBytes += Int64(ItemDeltaCodec.encode(batch).count)
                syncRows += Int64(batch.count)
            }
            batches.append(batch)
        }
        for i in learners.indices { replicas[i].apply(batches, to: &learners[i]) }
        syncRounds += 1
    }

    /// Replays the whole log. `progress` is called every `progressEvery` events with (consumed, total).
    public mutating func run(
        events: [Event],
        progressEvery: Int = 10_000,
        progress: ((Int64, Int64) -> Void)? = nil
    )
        -> (report: ReplayReport, summary: ScaleOutSummary)
    {
        let total = Int64(events.count)
        let warmup = Int64((options.warmupFraction * Double(total)).rounded(.down))
        let end = min(total, options.stopAfter ?? total)
        let started = ContinuousClock.now
        let config = learners[0].config
        let measureDiversity = options.measureDiversity && config.ranker == .mf
        // The same test-then-train step and scorer as a single-learner replay; only the learner varies.
        let step = PrequentialStep(weights: options.weights)
        var scoring = ReplayScoring(scores: scores, options: options, learner: learners[0], lists: nil)
        var context = [Int32]()
        let sharing = scaleOut.syncInterval > 0 && learners.count > 1
        let sharePairs = scaleOut.shareNeighbors && config.ranker == .mf && config.neighborWidth > 0
        var nextSync: Int64? = nil
        var position: Int64 = 0

        while position < end {
            let event = events[Int(position)]
            if sharing {
                if let due = nextSync, event.timestamp >= due { syncRound() }
                if nextSync == nil || event.timestamp >= nextSync! {
                    let d = scaleOut.syncInterval
                    nextSync = (event.timestamp >= 0 ? event.timestamp / d : (event.timestamp - d + 1) / d) * d + d
                }
            }
            let owner = owner(of: event.user)
            eventsPerLearner[owner] += 1
            scoring.eventIndex = position
            scoring.scoring = position >= warmup
            // A diverging step is rolled back and counted by the learner; the replay goes on.
            let outcome = step.apply(event, to: &learners[owner], observer: &scoring)
            if sharing {
                replicas[owner].noteEvent()
                if case .success(let interaction) = outcome.result {
                    noteChanges(
                        of: interaction,
                        owner: owner,
                        weight: step.weights.effectiveWeight(event),
                        pairs: sharePairs,
                        scratch: &context
                    )
                }
            }
            position += 1
            if let progress, position % Int64(progressEvery) == 0 { progress(position, total) }
        }
        let last = learners[learners.count - 1]
        let catalog = learners.map { $0.items.count }.max() ?? 0
        if position == total { scoring.scores.evaluator.finish(endEvent: total - 1, catalog: catalog) }
        scores = scoring.scores
        let evaluator = scores.evaluator
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let t = evaluator.totals
        var counters = LearnerCounters()
        for l in learners { counters.add(l.counters) }
        var report = ReplayReport(
            ranker: config.ranker.rawValue,
            configJSON: config.canonicalJSON,
            k: options.k,
            totalEvents: total,
            warmupEvents: min(warmup, total),
            consumedEvents: position,
            scoredEvents: t.scored,
            repeatEventsSkipped: scores.repeatsSkipped,
            recall: t.recall,
            ndcg: t.ndcg,
            mrr: t.mrr,
            coverage: evaluator.coverage(catalog: catalog),
            novelty: t.novelty,
            diversity: measureDiversity ? t.diversity : nil,
            auc: t.auc,
            aucSamples: evaluator.auc.samples,
            precision: t.precision(k: options.k),
            f1: t.f1(k: options.k),
            exposureGini: evaluator.exposure.gini(catalog: catalog),
            exposureEntropy: evaluator.exposure.entropy(),
            longTailShare: t.longTailShare,
            eventsPerSecond: seconds > 0 ? Double(position) / seconds : 0,
            seconds: seconds,
            users: learners.reduce(0) { $0 + $1.users.count },
            items: catalog,
            counters: counters,
            windows: evaluator.windows,
            resumedFrom: nil
        )
        if config.ranker == .mf {
            report.ranking = last.model.ranking.rawValue
            if scores.overlapSamples > 0 {
                report.indexOverlap = scores.overlapSum / Double(scores.overlapSamples)
                report.indexOverlapSamples = scores.overlapSamples
            }
        }
        let summary = ScaleOutSummary(
            learners: learners.count,
            partitions: scaleOut.partitionCount,
            partitioner: scaleOut.partitioner.rawValue,
            syncIntervalMs: scaleOut.syncInterval,
            merge: scaleOut.merge.rawValue,
            shareNeighbors: scaleOut.shareNeighbors,
            syncRounds: syncRounds,
            syncBytes: syncBytes,
            syncBytesPerEvent: position > 0 ? Double(syncBytes) / Double(position) : 0,
            syncRows: syncRows,
            eventsPerLearner: eventsPerLearner,
            usersPerLearner: learners.map { $0.users.count },
            itemsPerLearner: learners.map { $0.items.count },
            slotMetricsApproximate: learners.count > 1
        )
        return (report, summary)
    }
}

extension ScaleOutReplay {
    /// Tells the owner's replica which item rows the event may have moved without a bias change (the
    /// positive, the sequence-context items) and, with neighbour sharing, which pairs it added.
    private mutating func noteChanges(
        of interaction: OnlineLearner.Interaction,
        owner: Int,
        weight: Float,
        pairs: Bool,
        scratch: inout [Int32]
    ) {
        let config = learners[owner].config
        replicas[owner].noteTouched(interaction.itemSlot)
        if pairs && weight > 0 && weight.isFinite {
            // The previous items exactly as OnlineLearner.learnNeighbors paired them.
            learners[owner].store.recentItems(
                of: interaction.userSlot,
                into: &scratch,
                limit: config.neighborHistory,
                skip: 1
            )
            replicas[owner].notePairs(item: interaction.itemSlot, previous: scratch, learner: learners[owner])
        }
        if config.sequenceContext > 0 {
            learners[owner].store.recentItems(
                of: interaction.userSlot,
                into: &scratch,
                limit: config.sequenceContext,
                skip: 1
            )
            for c in scratch { replicas[owner].noteTouched(c) }
        }
    }
}
