/// Prequential recall@K measured on live traffic: for a sample of events, the user's top-K is ranked
/// with the current model *before* the learner sees the event, and the event's item is looked for in it
/// (test-then-train, the same protocol as `replay`). The result is a rolling window over the last `W`
/// scored events, so the gauge follows drift instead of averaging it away since start-up.
///
/// Scoring costs one top-K, so only a sample of events is scored. Events that are re-consumptions of an
/// item the user already has are not scored (lists exclude consumed items by design, so they would be
/// guaranteed misses), unknown users are scored on the popularity fallback, unknown items are misses —
/// exactly as ``ReplaySession`` does, so online and offline numbers are comparable.
///
/// A value type owned by the consumer loop (no locking); the pipeline and list buffers are reused, so
/// an observation allocates nothing.
public struct OnlineRecallTracker: Sendable {
    /// Which events are scored.
    public enum Sampling: Sendable, Equatable {
        /// Every `n`th observed event (1 = all). Cheap, but depends on event order across partitions.
        case everyNth(Int)
        /// A deterministic hash of (user, item) below `fraction`: the same events are scored whatever the
        /// partition interleaving or restart point, so two replicas report comparable numbers.
        case hashed(fraction: Double)
    }

    /// What one ``observe(user:item:learner:)`` did.
    public enum Outcome: Sendable, Equatable {
        case notSampled
        /// The user already consumed the item: not scored.
        case repeatSkipped
        /// The item was at this 1-based rank of the top-K.
        case hit(rank: Int)
        case miss
    }

    public let k: Int
    public let windowSize: Int
    public let sampling: Sampling
    /// Events passed to ``observe(user:item:learner:)``.
    public private(set) var observed: Int64 = 0
    /// Events scored since start (hits + misses).
    public private(set) var totalScored: Int64 = 0
    public private(set) var totalHits: Int64 = 0
    public private(set) var repeatsSkipped: Int64 = 0
    /// Hits among the events in the window.
    public private(set) var hitsInWindow = 0
    /// Ring of the last `windowSize` outcomes (1 = hit).
    private var ring: [UInt8]
    private var ringHead = 0
    private var ringCount = 0
    private var pipeline: RankingPipeline
    private var list: [ScoredIndex]
    private let hashThreshold: UInt64

    /// - Parameters:
    ///   - k: list length (recall@K).
    ///   - windowSize: scored events the rolling recall is computed over.
    ///   - sampling: which events to score.
    public init(k: Int = 10, windowSize: Int = 1000, sampling: Sampling = .everyNth(10)) {
        self.k = max(1, k)
        self.windowSize = max(1, windowSize)
        self.sampling = sampling
        ring = [UInt8](repeating: 0, count: self.windowSize)
        pipeline = RankingPipeline()
        list = []
        list.reserveCapacity(self.k)
        if case .hashed(let fraction) = sampling {
            let f = min(max(fraction, 0), 1)
            hashThreshold = f >= 1 ? .max : UInt64(f * 18_446_744_073_709_551_615.0)
        } else {
            hashThreshold = 0
        }
    }

    /// Scored events currently in the window.
    public var scoredInWindow: Int { ringCount }

    /// Rolling recall@K over the window; nil until an event has been scored.
    public var recall: Double? { ringCount > 0 ? Double(hitsInWindow) / Double(ringCount) : nil }

    /// Recall@K over every event scored since start; nil until an event has been scored.
    public var lifetimeRecall: Double? { totalScored > 0 ? Double(totalHits) / Double(totalScored) : nil }

    /// Would this event be scored? Advances nothing; ``observe(user:item:learner:)`` decides the same way.
    public func isSampled(user: String, item: String, ordinal: Int64) -> Bool {
        switch sampling {
        case .everyNth(let n): return n <= 1 || ordinal % Int64(n) == 0
        case .hashed: return hashThreshold == .max || Self.hash(user: user, item: item) < hashThreshold
        }
    }

    /// Call for every event, **before** `learner.learn` sees it. Returns what happened to the event.
    @discardableResult
    public mutating func observe(user: String, item: String, learner: OnlineLearner) -> Outcome {
        let ordinal = observed
        observed += 1
        guard isSampled(user: user, item: item, ordinal: ordinal) else { return .notSampled }
        guard case .ranked(let target) = learner.probe(user: user, item: item, k: k, pipeline: &pipeline, into: &list)
        else {
            repeatsSkipped += 1
            return .repeatSkipped
        }
        let rank = PrequentialEvaluator.rank(of: target, in: list)
        record(hit: rank > 0)
        return rank > 0 ? .hit(rank: rank) : .miss
    }

    /// Adds one scored outcome to the totals and the rolling window (also used by tests and by callers
    /// that rank themselves).
    public mutating func record(hit: Bool) {
        totalScored += 1
        if hit { totalHits += 1 }
        let value: UInt8 = hit ? 1 : 0
        if ringCount == windowSize {
            hitsInWindow -= Int(ring[ringHead])
        } else {
            ringCount += 1
        }
        ring[ringHead] = value
        hitsInWindow += Int(value)
        ringHead = ringHead + 1 == windowSize ? 0 : ringHead + 1
    }

    /// FNV-1a over the UTF-8 of user, a separator and item, then a final avalanche (splitmix64) so the
    /// low-entropy tail of similar ids doesn't bias the sample. No allocation.
    public static func hash(user: String, item: String) -> UInt64 {
        var h = StableHash.fnv1a64(user.utf8)
        h = StableHash.fnv1a64(CollectionOfOne(0xFF), continuing: h)  // separator: ("ab","c") ≠ ("a","bc")
        h = StableHash.fnv1a64(item.utf8, continuing: h)
        h ^= h >> 30
        h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 27
        h = h &* 0x94d0_49bb_1331_11eb
        h ^= h >> 31
        return h
    }
}

extension OnlineRecallTracker: PrequentialObserver {
    /// The observer of ``PrequentialStep``: scores the event if sampled (see ``observe(user:item:learner:)``).
    public mutating func observe(_ event: Event, learner: OnlineLearner) {
        observe(user: event.user, item: event.item, learner: learner)
    }
}
