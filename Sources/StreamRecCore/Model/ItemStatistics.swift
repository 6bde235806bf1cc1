#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Per-item interaction statistics and the event clock: popularity (all-time, or half-life-decayed),
/// the ring of recent positives with its per-item counts, each item's last interaction time and the
/// exact most-popular prefix.
///
/// Invariants, kept by the mutating methods: `totalPopularity` is the sum of `popularity`;
/// `windowCounts[i]` counts item `i` in the ring (when counted) and `windowLog[i]` is
/// `log(1 + windowCounts[i])` (with the blend on); `leaders` is the exact prefix of `popularity`.
public struct ItemStatistics: Sendable, Equatable {
    private let windowCapacity: Int
    private let halfLife: Int64
    /// Whether the window counts are maintained (cold start and the blend use them).
    let countsWindow: Bool
    private let keepsWindowLog: Bool

    /// Interaction weight per item (for popularity ranking and novelty).
    public private(set) var popularity: [Float] = []
    /// Sum of `popularity`, kept incrementally so novelty needs no O(items) pass.
    public private(set) var totalPopularity: Double = 0
    /// Ring of recent positive item slots; sampling uniformly from it is popularity-proportional.
    private(set) var recentPositives: [Int32] = []
    private(set) var recentHead: Int = 0
    /// Occurrences of each item in `recentPositives`: popularity over the recent window (cold start).
    /// Derived from the ring, so it is rebuilt on decode rather than serialized.
    public private(set) var windowCounts: [UInt32] = []
    /// `log(1 + windowCounts)` per item: the blend's recent-popularity term (derived, like the counts).
    public private(set) var windowLog: [Float] = []
    /// Latest event time seen (ms, monotone); `Int64.min` before the first event.
    public private(set) var clock: Int64 = .min
    /// Event time at which stored popularity is in true units; with a popularity half-life, stored values
    /// are inflated by `2^((t − epoch)/halfLife)` when added, so decay needs no O(items) pass per event.
    public private(set) var popularityEpoch: Int64 = .min
    /// Event time of each item's latest interaction (factor decay, TTL).
    public private(set) var lastSeen: [Int64] = []
    /// Exact most-popular prefix for the unknown-user fallback (derived; see ``PopularityLeaders``).
    public private(set) var leaders = PopularityLeaders()

    init(config: ModelConfig) {
        windowCapacity = config.popularityWindow
        halfLife = config.popularityHalfLife
        countsWindow = config.coldStartUserEvents > 0 || config.neighborWidth > 0
        keepsWindowLog = config.neighborWidth > 0
    }

    public var itemCount: Int { popularity.count }

    /// The clock as a time to stamp items with (0 before the first event).
    var now: Int64 { clock == .min ? 0 : clock }

    // MARK: Items

    mutating func appendItem() {
        popularity.append(0)
        windowCounts.append(0)
        if keepsWindowLog { windowLog.append(0) }
        lastSeen.append(now)
    }

    /// A reused slot forgets its popularity.
    mutating func resetItem(_ i: Int32) {
        totalPopularity -= Double(popularity[Int(i)])
        popularity[Int(i)] = 0
        leaders.reset(i, popularity: popularity)
        lastSeen[Int(i)] = now
    }

    /// Item `i` interacts now; returns its previous last-seen time.
    @discardableResult
    mutating func markSeen(_ i: Int32) -> Int64 {
        let last = lastSeen[Int(i)]
        lastSeen[Int(i)] = now
        return last
    }

    /// Item sync: keeps the later of the local and the merged last-seen time.
    mutating func mergeLastSeen(_ i: Int32, _ t: Int64) {
        if t > lastSeen[Int(i)] { lastSeen[Int(i)] = t }
    }

    // MARK: Popularity

    /// Records a positive interaction. With a popularity half-life the weight is inflated by the current
    /// decay gain (see ``popularityEpoch``); ratios between items and to ``totalPopularity`` stay exact.
    mutating func observe(item i: Int32, weight: Float) {
        let w = halfLife > 0 ? weight * popularityGain() : weight
        popularity[Int(i)] += w
        totalPopularity += Double(w)
        if w > 0 { leaders.increased(i, popularity: popularity) }
        // Window counts feed cold-start ranking only; plain MF skips the extra random access.
        let counting = countsWindow
        if counting {
            windowCounts[Int(i)] &+= 1
            refreshWindowLog(i)
        }
        if recentPositives.count < windowCapacity {
            recentPositives.append(i)
        } else {
            if counting {
                let old = recentPositives[recentHead]
                windowCounts[Int(old)] &-= 1
                refreshWindowLog(old)
            }
            recentPositives[recentHead] = i
            recentHead = (recentHead + 1) % windowCapacity
        }
    }

    @inline(__always)
    private mutating func refreshWindowLog(_ i: Int32) {
        if keepsWindowLog { windowLog[Int(i)] = log1pf(Float(windowCounts[Int(i)])) }
    }

    /// Sets an item's stored popularity from a sync merge, keeping the total and the leaders in step.
    mutating func setSyncedPopularity(_ slot: Int32, _ merged: Float) {
        let s = Int(slot)
        let old = popularity[s]
        guard merged != old else { return }
        popularity[s] = merged
        totalPopularity += Double(merged - old)
        if merged > old {
            leaders.increased(slot, popularity: popularity)
        } else {
            leaders.reset(slot, popularity: popularity)
            if merged > 0 { leaders.increased(slot, popularity: popularity) }
        }
    }

    /// Advances the event clock to `timestamp` (never backwards, so late events can't un-decay). The first
    /// call also fixes the popularity epoch.
    mutating func advanceClock(to timestamp: Int64) {
        if clock == .min || timestamp > clock { clock = timestamp }
        if popularityEpoch == .min { popularityEpoch = clock }
        guard halfLife > 0 else { return }
        // Keep the inflation factor far from Float overflow: renormalize every 32 half-lives (O(items)).
        let halfLives = Double(clock - popularityEpoch) / Double(halfLife)
        if halfLives > 32 { renormalize() }
    }

    /// Factor by which a weight observed now is inflated relative to the popularity epoch.
    @inline(__always)
    func popularityGain() -> Float {
        guard halfLife > 0, clock != .min, popularityEpoch != .min else { return 1 }
        return Float(exp2(Double(clock - popularityEpoch) / Double(halfLife)))
    }

    /// Multiply stored popularity by this to get decayed interaction weight at the current clock.
    @inline(__always)
    public var popularityScale: Float { 1 / popularityGain() }

    private mutating func renormalize() {
        let scale = popularityScale
        for i in popularity.indices { popularity[i] *= scale }
        totalPopularity *= Double(scale)
        popularityEpoch = clock
        leaders.rebuild(popularity: popularity)
    }

    // MARK: Snapshot state

    /// Restores the serialized statistics and rebuilds the derived ones (window counts, leaders).
    mutating func restore(
        popularity: [Float],
        totalPopularity: Double,
        recentPositives: [Int32],
        recentHead: Int,
        clock: Int64,
        popularityEpoch: Int64,
        lastSeen: [Int64]
    ) {
        self.popularity = popularity
        self.totalPopularity = totalPopularity
        self.recentPositives = recentPositives
        self.recentHead = recentHead
        self.clock = clock
        self.popularityEpoch = popularityEpoch
        self.lastSeen = lastSeen
        let items = popularity.count
        windowCounts = [UInt32](repeating: 0, count: items)
        leaders.rebuild(popularity: popularity)
        if countsWindow {
            for i in recentPositives where Int(i) < items && i >= 0 { windowCounts[Int(i)] &+= 1 }
        }
        windowLog = keepsWindowLog ? windowCounts.map { log1pf(Float($0)) } : []
    }

    var allocatedBytes: Int {
        (popularity.capacity + recentPositives.capacity + windowCounts.capacity + windowLog.capacity) * 4
            + lastSeen.capacity * 8
    }

    /// Derived state (window counts and log, leaders) is left out: it follows from the rest.
    public static func == (a: Self, b: Self) -> Bool {
        a.popularity == b.popularity && a.totalPopularity == b.totalPopularity
            && a.recentPositives == b.recentPositives && a.recentHead == b.recentHead && a.clock == b.clock
            && a.popularityEpoch == b.popularityEpoch && a.lastSeen == b.lastSeen
    }
}
