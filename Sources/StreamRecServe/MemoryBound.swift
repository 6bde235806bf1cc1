public import StreamRecCore

/// What the user and item caps bound: an estimate of the learner's largest steady-state memory at the
/// configured caps, logged at start-up so operators size containers from a number, not a guess.
///
/// Per user: factors (4 B each), the recent-history ring (12 B per slot: item + time), per-slot
/// counters and clocks (~32 B), the id and its dictionary entry (~64 B), the serve loop's refresh
/// state (25 B). Per item: factors, plus context factors with sequence context on, plus the ranking
/// copy (4 B each), popularity/bias/clock (~20 B), the id (~64 B); with the item-neighbour blend its
/// co-occurrence row (12 B per neighbour slot + ~16 B of counts); with approximate ranking the index's
/// copy of the vector and bias plus its list position (4 B × (factors + 1) + 8 B). Remembered (user, item) pairs cost
/// ~16 B each (list entry + hash slot) and number at most max_users × max_seen_per_user; a flood of
/// new ids adds one per event, so in practice they stay near max_users. Growable arrays may hold up to
/// twice their contents while growing; RSS also includes librdkafka's queues and the snapshot copy.
public struct MemoryBound: Sendable, Equatable {
    public var bytesPerUser: Int
    public var bytesPerItem: Int
    public var usersAndItemsBytes: Int
    public static let bytesPerSeenPair = 16

    public init(_ config: ModelConfig) {
        bytesPerUser = config.factors * 4 + config.historyLength * 12 + 32 + 64 + 25
        let itemVectors = 2 + (config.sequenceContext > 0 ? 1 : 0)
        let neighbourRow = config.neighborWidth > 0 ? config.neighborWidth * 12 + 16 : 0
        // The index exists only with approximate ranking (serve's default); counted always, as a bound.
        let indexEntry = (config.factors + 1) * 4 + 8
        bytesPerItem = config.factors * 4 * itemVectors + 20 + 64 + neighbourRow + indexEntry
        usersAndItemsBytes = config.maxUsers * bytesPerUser + config.maxItems * bytesPerItem
    }

    public var description: String {
        func mib(_ b: Int) -> String { "\(b / (1 << 20)) MiB" }
        return
            "users and items at their caps: \(mib(usersAndItemsBytes)) (\(bytesPerUser) B/user, \(bytesPerItem) B/item), "
            + "plus \(Self.bytesPerSeenPair) B per remembered (user, item) pair"
    }
}
