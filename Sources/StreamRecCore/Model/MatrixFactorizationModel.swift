#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Online matrix factorization for implicit feedback, trained one event at a time by SGD.
///
/// Rows are dense slots handed out by ``IdDictionary``. The state is in three parts, each keeping its
/// own invariants: ``factors`` (the vectors and the ranking structures derived from them),
/// ``statistics`` (popularity, the recent window, the event clock, last-seen times) and ``blend``
/// (the item-neighbour scorer and its weights); plus the learning RNG. All of it that influences future
/// updates is serialized by snapshots, so a resumed run continues bit-identically.
public struct MatrixFactorizationModel: Sendable, Equatable {
    public let config: ModelConfig
    public internal(set) var factors: ModelFactors
    public internal(set) var statistics: ItemStatistics
    public internal(set) var blend: ItemBlend
    public internal(set) var rng: RandomSource
    /// Number of SGD steps applied (one per positive event).
    public internal(set) var updates: Int64 = 0
    /// Scratch rows of the SGD step: rollback copies, the difference vector, the context query and rows.
    var scratch: [Float]

    public init(config: ModelConfig) {
        self.config = config
        factors = ModelFactors(config: config)
        statistics = ItemStatistics(config: config)
        blend = ItemBlend(neighborWidth: config.neighborWidth)
        rng = RandomSource(seed: config.seed)
        scratch = [Float](repeating: 0, count: (5 + config.sequenceContext) * factors.users.stride)
    }

    public var itemCount: Int { factors.items.rows }
    public var userCount: Int { factors.users.rows }

    // MARK: Slots

    /// Makes sure user slot `u` exists; new rows get random initial factors.
    public mutating func ensureUser(_ u: Int32) {
        while factors.users.rows <= Int(u) { factors.appendUser(rng: &rng, scale: config.initScale) }
    }

    public mutating func ensureItem(_ i: Int32) {
        while factors.items.rows <= Int(i) {
            factors.appendItem(rng: &rng, scale: config.initScale)
            statistics.appendItem()
            blend.neighbors.appendItem()
        }
    }

    /// Re-initializes a reused user slot (the previous occupant was evicted).
    public mutating func resetUser(_ u: Int32) { factors.resetUser(u, rng: &rng, scale: config.initScale) }

    /// Re-initializes a reused item slot, forgetting its popularity and neighbours.
    public mutating func resetItem(_ i: Int32) {
        factors.resetItem(i, rng: &rng, scale: config.initScale)
        statistics.resetItem(i)
        blend.neighbors.reset(item: i)
    }

    /// Overwrites a user's factors (tests, warm starts).
    public mutating func setUserFactors(_ u: Int32, _ values: [Float]) { factors.setUser(u, values) }

    /// Overwrites an item's factors (cold-start initialization from similar items).
    public mutating func setItemFactors(_ i: Int32, _ values: [Float]) { factors.setItem(i, values) }

    public mutating func setItemBias(_ i: Int32, _ value: Float) { factors.setBias(i, value) }

    /// Exact or index-based (approximate) top-K: see ``ItemIndex``.
    public mutating func setRanking(
        _ mode: RankingMode,
        probes: Int? = nil,
        buildThreshold: Int = ItemIndex.minimumItems
    ) {
        factors.setRanking(mode, probes: probes, buildThreshold: buildThreshold)
    }

    public var ranking: RankingMode { factors.index == nil ? .exact : .approximate }

    // MARK: Events

    /// Advances the model's event clock to `timestamp` (see ``ItemStatistics/advanceClock(to:)``).
    public mutating func advanceClock(to timestamp: Int64) { statistics.advanceClock(to: timestamp) }

    /// Records a positive interaction for popularity statistics (all rankers use these).
    public mutating func observe(item i: Int32, weight: Float) { statistics.observe(item: i, weight: weight) }

    /// Records that user `u` (last active at `userLastSeen`, nil if new) and item `i` interact at the
    /// current clock. With ``ModelConfig/factorDecayHalfLife`` their factors are first shrunk toward 0 by
    /// `2^(−inactive time / halfLife)`: lazily, on touch, so idle rows cost nothing.
    public mutating func touch(user u: Int32, lastSeen userLastSeen: Int64?, item i: Int32) {
        let now = statistics.now
        if config.factorDecayHalfLife > 0 {
            let h = Double(config.factorDecayHalfLife)
            if let last = userLastSeen, now > last { factors.decayUser(u, by: Float(exp2(-Double(now - last) / h))) }
            let last = statistics.lastSeen[Int(i)]
            if now > last { factors.decayItem(i, by: Float(exp2(-Double(now - last) / h))) }
        }
        statistics.markSeen(i)
    }

    // MARK: Scoring

    @inline(__always)
    public func score(user u: Int32, item i: Int32) -> Float { factors.score(user: u, item: i) }

    @inline(__always)
    func score(query: [Float], item i: Int32) -> Float { factors.score(query: query, item: i) }

    /// See ``ModelFactors/contextQuery(user:context:into:)``.
    public func contextQuery(user u: Int32, context: [Int32], into query: inout [Float]) {
        factors.contextQuery(user: u, context: context, into: &query)
    }

    /// Score of item `i` for user `u` given recent items `context` (plain ``score(user:item:)`` when empty).
    public func score(user u: Int32, item i: Int32, context: [Int32]) -> Float {
        var q = [Float]()
        contextQuery(user: u, context: context, into: &q)
        return score(query: q, item: i)
    }

    /// The item's interaction weight, decayed to the current event clock when a popularity half-life is
    /// set (otherwise the plain sum of weights).
    public func popularity(of i: Int32) -> Float { statistics.popularity[Int(i)] * statistics.popularityScale }

    public var allocatedBytes: Int {
        factors.allocatedBytes + statistics.allocatedBytes + blend.neighbors.allocatedBytes
    }

    /// Learning state: the scratch rows are left out (and each part leaves out what it derives).
    public static func == (a: Self, b: Self) -> Bool {
        a.config == b.config && a.factors == b.factors && a.statistics == b.statistics && a.blend == b.blend
            && a.rng == b.rng && a.updates == b.updates
    }

    // MARK: Read-only views for callers outside the model

    public var userFactors: FactorMatrix { factors.users }
    public var itemFactors: FactorMatrix { factors.items }
    public var itemBias: [Float] { factors.itemBias }
    public var contextFactors: FactorMatrix { factors.context }
    public var itemIndex: ItemIndex? { factors.index }
    public var itemPopularity: [Float] { statistics.popularity }
    public var totalPopularity: Double { statistics.totalPopularity }
    public var windowCounts: [UInt32] { statistics.windowCounts }
    public var clock: Int64 { statistics.clock }
    public var popularityEpoch: Int64 { statistics.popularityEpoch }
    public var itemLastSeen: [Int64] { statistics.lastSeen }
    public var popularityScale: Float { statistics.popularityScale }
    public var neighbors: ItemNeighbors { blend.neighbors }
    public var neighborBlend: Float { blend.neighborWeight }
    public var popularityBlend: Float { blend.popularityWeight }
}
