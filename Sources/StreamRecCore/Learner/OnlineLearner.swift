#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Counters the learner keeps about what it has seen; serialized with snapshots.
public struct LearnerCounters: Sendable, Equatable, Codable {
    public var events: Int64 = 0
    public var sgdSteps: Int64 = 0
    public var zeroWeightEvents: Int64 = 0
    public var newUsers: Int64 = 0
    public var newItems: Int64 = 0
    public var userEvictions: Int64 = 0
    public var itemEvictions: Int64 = 0
    public var nonFiniteRejected: Int64 = 0
    /// Users / items removed by TTL expiry (``ModelConfig/userTTL``, ``ModelConfig/itemTTL``).
    public var userExpirations: Int64 = 0
    public var itemExpirations: Int64 = 0
    /// New items whose factors were initialized from similar catalog items.
    public var catalogInitializedItems: Int64 = 0
    /// Consumed items a user's seen-set dropped (oldest first) because it held ``ModelConfig/maxSeenPerUser``:
    /// those items can be recommended to that user again and a re-consumption counts as new.
    public var seenForgotten: Int64 = 0
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case events, sgdSteps, zeroWeightEvents, newUsers, newItems, userEvictions, itemEvictions
        case nonFiniteRejected, userExpirations, itemExpirations, catalogInitializedItems, seenForgotten
    }

    /// Tolerates missing keys so counters written by older versions keep decoding.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func v(_ key: CodingKeys) throws -> Int64 { try c.decodeIfPresent(Int64.self, forKey: key) ?? 0 }
        events = try v(.events)
        sgdSteps = try v(.sgdSteps)
        zeroWeightEvents = try v(.zeroWeightEvents)
        newUsers = try v(.newUsers)
        newItems = try v(.newItems)
        userEvictions = try v(.userEvictions)
        itemEvictions = try v(.itemEvictions)
        nonFiniteRejected = try v(.nonFiniteRejected)
        userExpirations = try v(.userExpirations)
        itemExpirations = try v(.itemExpirations)
        catalogInitializedItems = try v(.catalogInitializedItems)
        seenForgotten = try v(.seenForgotten)
    }
}

extension LearnerCounters {
    /// Adds another learner's counters (a pooled report of several learners; a process's totals over
    /// its `serve.learners`).
    public mutating func add(_ o: LearnerCounters) {
        events += o.events
        sgdSteps += o.sgdSteps
        zeroWeightEvents += o.zeroWeightEvents
        newUsers += o.newUsers
        newItems += o.newItems
        userEvictions += o.userEvictions
        itemEvictions += o.itemEvictions
        nonFiniteRejected += o.nonFiniteRejected
        userExpirations += o.userExpirations
        itemExpirations += o.itemExpirations
        catalogInitializedItems += o.catalogInitializedItems
        seenForgotten += o.seenForgotten
    }
}

/// The learning core's facade: id maps + per-user store + MF model, driven one event at a time.
///
/// `replay` and `serve` both drive this type, so the model a backtest measures is the model that
/// serves. It is a value type: copying it is a (copy-on-write) snapshot of the whole learner.
public struct OnlineLearner: Sendable, Equatable {
    public let config: ModelConfig
    public internal(set) var users: IdDictionary  // internal(set): user-state import (+UserState)
    public internal(set) var items: IdDictionary  // internal(set): item-state sync interns published ids
    public internal(set) var store: UserHistoryStore
    public internal(set) var model: MatrixFactorizationModel
    public internal(set) var counters = LearnerCounters()
    /// Item side information for cold-start initialization (an input, not snapshot state; see
    /// ``ItemCatalog``). nil = new items start from random factors.
    public private(set) var catalog: ItemCatalog?
    /// Reused buffers for the sequence context of the current event, the neighbour context and the
    /// blend step's query (no per-event allocation).
    var contextScratch: [Int32] = []
    var neighborScratch: [Int32] = []
    var queryScratch: [Float] = []

    public static func == (a: OnlineLearner, b: OnlineLearner) -> Bool {
        a.config == b.config && a.users == b.users && a.items == b.items && a.store == b.store
            && a.model == b.model && a.counters == b.counters && a.catalog == b.catalog
    }

    /// Exact or index-based (approximate) top-K for MF ranking: an option of the running process, not
    /// learning state (it never changes what the model learns). See ``ItemIndex``.
    public mutating func setRanking(
        _ mode: RankingMode,
        probes: Int? = nil,
        buildThreshold: Int = ItemIndex.minimumItems
    ) {
        model.setRanking(mode, probes: probes, buildThreshold: buildThreshold)
    }

    /// Attaches (or with nil detaches) the item catalog used to initialize new items' factors. Attach the
    /// same catalog again after resuming from a snapshot: it is an input, like the log.
    public mutating func attach(catalog: ItemCatalog?) { self.catalog = catalog }

    public init(config: ModelConfig) throws(ConfigError) {
        try config.validate()
        self.config = config
        users = IdDictionary(capacity: config.maxUsers)
        items = IdDictionary(capacity: config.maxItems)
        store = UserHistoryStore(historyLength: config.historyLength, maxSeenPerUser: config.maxSeenPerUser)
        model = MatrixFactorizationModel(config: config)
    }

    init(
        config: ModelConfig,
        users: IdDictionary,
        items: IdDictionary,
        store: UserHistoryStore,
        model: MatrixFactorizationModel,
        counters: LearnerCounters
    ) {
        self.config = config
        self.users = users
        self.items = items
        self.store = store
        self.model = model
        self.counters = counters
    }

    /// What ``learn(user:item:timestamp:weight:)`` did.
    public struct Interaction: Sendable, Equatable {
        public var userSlot: Int32
        public var itemSlot: Int32
        public var isNewUser: Bool
        public var isNewItem: Bool
        /// The user had consumed this item before (repeat consumption).
        public var isRepeat: Bool
    }

    /// Applies one event: updates the user store, popularity statistics and (for the MF ranker) one SGD
    /// step with sampled negatives. `weight` is the event's effective weight (0 = store only).
    ///
    /// - Throws: ``NonFiniteModelError`` when the SGD step diverged; the store and counts are updated,
    ///   the offending factor update is rolled back.
    @discardableResult
    public mutating func learn(
        user: String,
        item: String,
        timestamp: Int64,
        weight: Float
    ) throws(NonFiniteModelError) -> Interaction {
        counters.events += 1
        model.advanceClock(to: timestamp)
        if config.userTTL > 0 || config.itemTTL > 0 { expireInactive() }
        let u = users.touch(user)
        if u.isNew {
            counters.newUsers += 1
            store.ensureSlot(u.index)
            model.ensureUser(u.index)
            if u.evictedId != nil {
                counters.userEvictions += 1
                store.reset(u.index)
                model.resetUser(u.index)
            }
        }
        let i = items.touch(item)
        if i.isNew {
            counters.newItems += 1
            model.ensureItem(i.index)
            if i.evictedId != nil {
                counters.itemEvictions += 1
                model.resetItem(i.index)
            }
            if catalog != nil && config.coldStartNeighbors > 0 { initializeFromCatalog(slot: i.index, id: item) }
        }
        // Last-seen clocks only matter to factor decay and item TTL: plain MF skips the bookkeeping.
        if config.factorDecayHalfLife > 0 || config.itemTTL > 0 {
            let userLastSeen: Int64? = store.eventCounts[Int(u.index)] > 0 ? store.lastSeen[Int(u.index)] : nil
            model.touch(user: u.index, lastSeen: userLastSeen, item: i.index)
        }
        let seenFull = store.seenCount(of: u.index) >= config.maxSeenPerUser
        let isNewForUser = store.record(user: u.index, item: i.index, timestamp: timestamp)
        if isNewForUser && seenFull { counters.seenForgotten += 1 }
        let result = Interaction(
            userSlot: u.index,
            itemSlot: i.index,
            isNewUser: u.isNew,
            isNewItem: i.isNew,
            isRepeat: !isNewForUser
        )
        guard weight > 0, weight.isFinite else {
            counters.zeroWeightEvents += 1
            return result
        }
        if config.ranker == .mf { learnNeighbors(user: u.index, item: i.index) }
        model.observe(item: i.index, weight: weight)
        guard config.ranker == .mf else { return result }
        let userSlot = u.index
        do {
            // Negatives must be live items the user hasn't consumed.
            if config.sequenceContext > 0 {
                // Context = the items before this one (the store already holds this event).
                store.recentItems(of: userSlot, into: &contextScratch, limit: config.sequenceContext, skip: 1)
                try model.learn(user: userSlot, item: i.index, weight: weight, context: contextScratch) {
                    [store, items] j in
                    store.hasSeen(user: userSlot, item: j) || !items.isLive(j)
                }
            } else {
                try model.learn(user: userSlot, item: i.index, weight: weight) { [store, items] j in
                    store.hasSeen(user: userSlot, item: j) || !items.isLive(j)
                }
            }
            counters.sgdSteps += 1
        } catch {
            counters.nonFiniteRejected += 1
            throw error
        }
        return result
    }

    // MARK: Forgetting and cold start (learning side)

    /// Removes users and items inactive for longer than their TTL, oldest first. The recency lists put the
    /// least recently active id at the head, so this is amortized O(1) per event. Freed slots are reset
    /// immediately (store, factors, popularity), so whoever reuses a slot starts fresh.
    private mutating func expireInactive() {
        let now = model.clock
        if config.userTTL > 0 {
            while let s = users.leastRecentSlot, now - store.lastSeen[Int(s)] > config.userTTL, let id = users.id(at: s)
            {
                users.remove(id)
                store.reset(s)
                model.resetUser(s)
                counters.userExpirations += 1
            }
        }
        if config.itemTTL > 0 {
            while let s = items.leastRecentSlot, now - model.statistics.lastSeen[Int(s)] > config.itemTTL,
                let id = items.id(at: s)
            {
                items.remove(id)
                model.resetItem(s)
                counters.itemExpirations += 1
            }
        }
    }

    /// A new item that the catalog describes starts from the similarity-weighted mean of the factors (and
    /// biases) of the most similar known items by TF-IDF cosine, instead of random factors. Runs once per
    /// new item (it allocates; new items are rare next to events).
    private mutating func initializeFromCatalog(slot: Int32, id: String) {
        guard let catalog, catalog.contains(id) else { return }
        let neighbors = catalog.mostSimilar(to: id, limit: config.coldStartNeighbors) { [items] other in
            guard let j = items.index(of: other), j != slot else { return nil }
            return j
        }
        let total = neighbors.reduce(Float(0)) { $0 + $1.score }
        guard total > 0 else { return }
        var mean = [Float](repeating: 0, count: config.factors)
        var bias: Float = 0
        for n in neighbors {
            let row = model.itemFactors.row(Int(n.index))
            let w = n.score / total
            for c in 0..<config.factors { mean[c] += w * row[c] }
            bias += w * model.itemBias[Int(n.index)]
        }
        model.setItemFactors(slot, mean)
        model.setItemBias(slot, bias)
        counters.catalogInitializedItems += 1
    }

    /// A string identifying the model state that produced a list: config fingerprint and update count.
    public var modelVersion: String {
        "\(config.ranker.rawValue)-\(String(config.fingerprint, radix: 16))@\(counters.events)"
    }

    /// Approximate bytes held by all learner state.
    public var allocatedBytes: Int {
        model.allocatedBytes + store.allocatedBytes + (users.slotCount + items.slotCount) * 64
    }
}
