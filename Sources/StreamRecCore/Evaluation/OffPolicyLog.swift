/// Joins a log of produced lists (with per-slot propensities) to the interaction events that followed
/// them and to a deterministic target policy's lists, producing the input of ``OffPolicyEstimators``.
///
/// - Outcome of a list: the first event of the list's user at an index greater than the list's
///   `source_offset.offset`, indexes counting events in log order (the order `replay` reads them, or
///   Kafka offsets of a single-partition topic dumped in order). Lists whose outcome re-consumes an item
///   the user had already consumed are skipped, as in the prequential protocol (lists exclude consumed items).
/// - Target: the list with the same user and source offset in the target log, read as deterministic
///   (π = 1 for each of its items, or for its item in each slot with `perSlot`). Any policy
///   `replay --lists-out` can run is a valid target.
/// - Units: listed items with their `list_propensity` (default), or slots with their `propensity`.
/// - Reward model (DR): q̂(a) = share of outcomes on item a among the lists of the *other* half (lists
///   split by parity of their position), i.e. cross-fitted popularity of next interactions.
public enum OffPolicyLog {
    public struct Stats: Sendable, Equatable, Codable {
        public var lists = 0
        public var used = 0
        public var withoutPropensities = 0
        public var withoutSourceOffset = 0
        public var withoutOutcome = 0
        public var withoutTarget = 0
        public var repeatOutcomes = 0
        /// Mean hit of the logged lists themselves (the logging policy's on-policy hit rate).
        public var loggedHitRate = 0.0
        public init() {}
    }

    public static func join(
        logged: [RecommendationList],
        target: [RecommendationList],
        events: [Event],
        perSlot: Bool = false
    ) -> (lists: [OffPolicyEstimators.LoggedList], stats: Stats) {
        var stats = Stats()
        stats.lists = logged.count
        // Per-user event indexes (ascending) and whether each event re-consumes an item.
        var byUser: [String: [Int]] = [:]
        var seen = Set<Pair>()
        var isRepeat = [Bool](repeating: false, count: events.count)
        for (index, e) in events.enumerated() {
            byUser[e.user, default: []].append(index)
            isRepeat[index] = !seen.insert(Pair(user: e.user, item: e.item)).inserted
        }
        var targets: [Pair: RecommendationList] = [:]
        for t in target { if let o = t.sourceOffset { targets[Pair(user: t.user, item: String(o.offset))] = t } }

        struct Row {
            var list: RecommendationList
            var target: RecommendationList
            var outcome: String
        }
        var rows: [Row] = []
        for list in logged {
            guard list.items.allSatisfy({ (perSlot ? $0.propensity : $0.listPropensity) != nil }) else {
                stats.withoutPropensities += 1
                continue
            }
            guard let offset = list.sourceOffset?.offset else {
                stats.withoutSourceOffset += 1
                continue
            }
            guard let indexes = byUser[list.user], let next = firstIndex(after: offset, in: indexes) else {
                stats.withoutOutcome += 1
                continue
            }
            guard !isRepeat[next] else {
                stats.repeatOutcomes += 1
                continue
            }
            guard let t = targets[Pair(user: list.user, item: String(offset))] else {
                stats.withoutTarget += 1
                continue
            }
            rows.append(Row(list: list, target: t, outcome: events[next].item))
        }
        stats.used = rows.count

        // Cross-fitted reward model: outcome shares per fold.
        var counts: [[String: Int]] = [[:], [:]]
        var totals = [0, 0]
        for (i, row) in rows.enumerated() {
            counts[i & 1][row.outcome, default: 0] += 1
            totals[i & 1] += 1
        }
        func predicted(_ item: String, fold: Int) -> Double {
            let other = 1 - fold
            return totals[other] > 0 ? Double(counts[other][item] ?? 0) / Double(totals[other]) : 0
        }

        var hits = 0
        let lists = rows.enumerated().map { i, row in
            let fold = i & 1
            var slots: [OffPolicyEstimators.Slot] = []
            slots.reserveCapacity(row.list.items.count)
            let targetItems = Set(row.target.items.map(\.item))
            for (s, item) in row.list.items.enumerated() {
                let reward: Double = item.item == row.outcome ? 1 : 0
                if reward > 0 { hits += 1 }
                let inTarget =
                    perSlot
                    ? s < row.target.items.count && row.target.items[s].item == item.item
                    : targetItems.contains(item.item)
                slots.append(
                    .init(
                        loggingPropensity: (perSlot ? item.propensity : item.listPropensity) ?? 0,
                        targetProbability: inTarget ? 1 : 0,
                        reward: reward,
                        predictedReward: predicted(item.item, fold: fold)
                    )
                )
            }
            let direct = row.target.items.reduce(0.0) { $0 + predicted($1.item, fold: fold) }
            return OffPolicyEstimators.LoggedList(
                slots: slots,
                targetPredictedReward: direct,
                targetSize: Double(row.target.items.count)
            )
        }
        stats.loggedHitRate = rows.isEmpty ? 0 : Double(hits) / Double(rows.count)
        return (lists, stats)
    }

    private struct Pair: Hashable {
        var user: String
        var item: String
    }

    /// First element of ascending `indexes` greater than `offset` (binary search).
    static func firstIndex(after offset: Int64, in indexes: [Int]) -> Int? {
        var lo = 0
        var hi = indexes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int64(indexes[mid]) > offset { hi = mid } else { lo = mid + 1 }
        }
        return lo < indexes.count ? indexes[lo] : nil
    }
}
