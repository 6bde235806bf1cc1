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
    public init() {}
}

/// The learning core's facade: id maps + per-user store + MF model, driven one event at a time.
///
/// `replay` and `serve` both drive this type, so the model a backtest measures is the model that
/// serves. It is a value type: copying it is a (copy-on-write) snapshot of the whole learner.
public struct OnlineLearner: Sendable, Equatable {
    public let config: ModelConfig
    public private(set) var users: IdDictionary
    public private(set) var items: IdDictionary
    public private(set) var store: UserHistoryStore
    public private(set) var model: MatrixFactorizationModel
    public private(set) var counters = LearnerCounters()

    public init(config: ModelConfig) throws(ConfigError) {
        try config.validate()
        self.config = config
        users = IdDictionary(capacity: config.maxUsers)
        items = IdDictionary(capacity: config.maxItems)
        store = UserHistoryStore(historyLength: config.historyLength, maxSeenPerUser: config.maxSeenPerUser)
        model = MatrixFactorizationModel(config: config)
    }

    init(config: ModelConfig, users: IdDictionary, items: IdDictionary, store: UserHistoryStore,
         model: MatrixFactorizationModel, counters: LearnerCounters) {
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
    public mutating func learn(user: String, item: String, timestamp: Int64, weight: Float) throws(NonFiniteModelError) -> Interaction {
        counters.events += 1
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
        }
        let isNewForUser = store.record(user: u.index, item: i.index, timestamp: timestamp)
        let result = Interaction(userSlot: u.index, itemSlot: i.index, isNewUser: u.isNew, isNewItem: i.isNew,
                                 isRepeat: !isNewForUser)
        guard weight > 0, weight.isFinite else {
            counters.zeroWeightEvents += 1
            return result
        }
        model.observe(item: i.index, weight: weight)
        guard config.ranker == .mf else { return result }
        let userSlot = u.index
        do {
            // Negatives must be live items the user hasn't consumed.
            try model.learn(user: userSlot, item: i.index, weight: weight) { [store, items] j in
                store.hasSeen(user: userSlot, item: j) || !items.isLive(j)
            }
            counters.sgdSteps += 1
        } catch {
            counters.nonFiniteRejected += 1
            throw error
        }
        return result
    }

    // MARK: Ranking

    /// Top-`k` items for a user slot (nil = unknown user: popularity fallback), excluding consumed
    /// items and dead slots. Uses `selector` as reusable scratch; writes best-first into `output`.
    public func recommend(userSlot: Int32?, k: Int, selector: inout TopKSelector, into output: inout [ScoredIndex]) {
        selector.reset(k: k)
        let n = model.itemCount
        guard let u = userSlot, users.isLive(u) else {
            rankByPopularity(user: nil, selector: &selector)
            selector.sorted(into: &output)
            return
        }
        switch config.ranker {
        case .mf:
            model.userFactors.withUnsafeBufferPointer { U in
                let pu = U.baseAddress! + Int(u) * model.userFactors.stride
                model.rankingItems.scoreBlocks(user: pu) { first, scores in
                    // Cheap block filter: only lanes that could enter the top-K are examined further.
                    guard scores.max() >= selector.threshold else { return }
                    for lane in 0..<min(8, n - first) {
                        let c = ScoredIndex(index: Int32(first + lane), score: scores[lane])
                        // Exclusion is checked only for candidates that would enter the top-K.
                        if selector.admits(c) && !store.hasSeen(user: u, item: c.index) && items.isLive(c.index) {
                            selector.offer(c)
                        }
                    }
                }
            }
        case .popularity:
            rankByPopularity(user: u, selector: &selector)
        case .random:
            // Deterministic per (user, event count) so ranking never perturbs the learner's RNG.
            var rng = RandomSource(seed: config.seed ^ (UInt64(u) << 32) ^ UInt64(counters.events))
            for i in 0..<n {
                let c = ScoredIndex(index: Int32(i), score: rng.nextUnitFloat())
                if selector.admits(c) && !store.hasSeen(user: u, item: c.index) && items.isLive(c.index) {
                    selector.offer(c)
                }
            }
        }
        selector.sorted(into: &output)
    }

    private func rankByPopularity(user: Int32?, selector: inout TopKSelector) {
        model.itemPopularity.withUnsafeBufferPointer { P in
            for i in 0..<P.count {
                let c = ScoredIndex(index: Int32(i), score: P[i])
                guard selector.admits(c) else { continue }
                if let u = user, store.hasSeen(user: u, item: c.index) { continue }
                if items.isLive(c.index) { selector.offer(c) }
            }
        }
    }

    /// Convenience for callers holding string ids (allocates; not for hot loops).
    public func recommend(user: String, k: Int) -> [(item: String, score: Float)] {
        var selector = TopKSelector(k: k)
        var out = [ScoredIndex]()
        recommend(userSlot: users.index(of: user), k: k, selector: &selector, into: &out)
        return out.compactMap { s in items.id(at: s.index).map { ($0, s.score) } }
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
