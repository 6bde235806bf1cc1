// Over 400 lines on purpose for now: the learner's state, its learn path and its ranking path share
// private helpers; the ranking half moves to its own file once the batched-scoring work (issue 9), which
// edits that half, has landed — moving it first would turn that merge into a rewrite.
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

/// The learning core's facade: id maps + per-user store + MF model, driven one event at a time.
///
/// `replay` and `serve` both drive this type, so the model a backtest measures is the model that
/// serves. It is a value type: copying it is a (copy-on-write) snapshot of the whole learner.
public struct OnlineLearner: Sendable, Equatable {
    public let config: ModelConfig
    public private(set) var users: IdDictionary
    public internal(set) var items: IdDictionary  // internal(set): item-state sync interns published ids
    public private(set) var store: UserHistoryStore
    public internal(set) var model: MatrixFactorizationModel
    public private(set) var counters = LearnerCounters()
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
    public mutating func setRanking(_ mode: RankingMode, probes: Int? = nil, buildThreshold: Int = ItemIndex.minimumItems) {
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
        let result = Interaction(userSlot: u.index, itemSlot: i.index, isNewUser: u.isNew, isNewItem: i.isNew,
                                 isRepeat: !isNewForUser)
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
                try model.learn(user: userSlot, item: i.index, weight: weight, context: contextScratch) { [store, items] j in
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
            while let s = users.leastRecentSlot, now - store.lastSeen[Int(s)] > config.userTTL, let id = users.id(at: s) {
                users.remove(id)
                store.reset(s)
                model.resetUser(s)
                counters.userExpirations += 1
            }
        }
        if config.itemTTL > 0 {
            while let s = items.leastRecentSlot, now - model.itemLastSeen[Int(s)] > config.itemTTL, let id = items.id(at: s) {
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

    // MARK: Ranking

    /// Top-`k` items for a user slot (nil = unknown user: popularity fallback), excluding consumed
    /// items and dead slots. Uses `selector` as reusable scratch; writes best-first into `output`.
    ///
    /// Stages, each off unless configured: MF scores (+ sequence context, + uncertainty bonus, + cold-start
    /// popularity blend) → top-K (top-M when MMR is on) → MMR diversity re-ranking → ε-greedy slots.
    /// Non-mutating and deterministic: exploration draws from an RNG derived from (seed, user, events).
    /// With an item index (``setRanking(_:probes:)``) MF candidates come from its probed lists unless
    /// `exact` is set.
    public func recommend(
        userSlot: Int32?, k: Int, selector: inout TopKSelector, into output: inout [ScoredIndex], exact: Bool = false
    ) {
        let live: Int32? = userSlot.flatMap { users.isLive($0) ? $0 : nil }
        let diversify = live != nil && config.ranker == .mf && config.diversityLambda < 1 && k > 1
        selector.reset(k: diversify ? max(k, config.diversityCandidates) : k)
        if let u = live {
            switch config.ranker {
            case .mf:
                if !exact && model.itemIndex != nil && rankApproximately(user: u, selector: &selector) {
                    break
                }
                if config.uncertaintyBonus > 0 || config.sequenceContext > 0 || config.neighborWidth > 0
                    || coldStartWeight(user: u) > 0 {
                    rankWithExtras(user: u, selector: &selector)
                } else {
                    rankPlain(user: u, selector: &selector)
                }
            case .popularity:
                rankByPopularity(user: u, recent: false, selector: &selector)
            case .random:
                // Deterministic per (user, event count) so ranking never perturbs the learner's RNG.
                var rng = RandomSource(seed: config.seed ^ (UInt64(u) << 32) ^ UInt64(counters.events))
                for i in 0..<model.itemCount {
                    let c = ScoredIndex(index: Int32(i), score: rng.nextUnitFloat())
                    if selector.admits(c) && !store.hasSeen(user: u, item: c.index) && items.isLive(c.index) {
                        selector.offer(c)
                    }
                }
            }
        } else {
            rankByPopularity(user: nil, recent: config.coldStartUserEvents > 0, selector: &selector)
        }
        selector.sorted(into: &output)
        if diversify { rerankMMR(k: k, selector: &selector, list: &output) }
        if config.explorationEpsilon > 0 {
            selector.greedy.removeAll(keepingCapacity: true)
            selector.greedy.append(contentsOf: output)  // kept for explorationPropensities
            explore(user: live, list: &output)
        }
    }

    /// Offers the lanes of one scored block that can enter the selection. Exclusion (consumed, dead) is
    /// checked only for candidates that would enter the top-K.
    @inline(__always)
    func offerBlock(first: Int, scores: SIMD8<Float>, user u: Int32, selector: inout TopKSelector) {
        // Cheap block filter: only lanes that could enter the top-K are examined further. The max is a
        // hand-written compare-and-select tree: `SIMD8.max()`, `any(mask)` and `pointwiseMax` compile
        // to out-of-line calls on baseline x86-64 (a third of all serve CPU in a perf profile).
        let a = scores.lowHalf, b = scores.highHalf
        let m4 = a.replacing(with: b, where: b .> a)
        let c = m4.lowHalf, d = m4.highHalf
        let m2 = c.replacing(with: d, where: d .> c)
        guard (m2[0] > m2[1] ? m2[0] : m2[1]) >= selector.threshold else { return }
        for lane in 0..<min(8, model.itemCount - first) {
            let c = ScoredIndex(index: Int32(first + lane), score: scores[lane])
            if selector.admits(c) && !store.hasSeen(user: u, item: c.index) && items.isLive(c.index) {
                selector.offer(c)
            }
        }
    }

    private func rankPlain(user u: Int32, selector: inout TopKSelector) {
        model.userFactors.withUnsafeBufferPointer { U in
            let pu = U.baseAddress! + Int(u) * model.userFactors.stride
            model.rankingItems.scoreBlocks(user: pu) { first, scores in
                offerBlock(first: first, scores: scores, user: u, selector: &selector)
            }
        }
    }

    /// Weight of the recent-popularity term for a user with few interactions: fades linearly from
    /// ``ModelConfig/coldStartPopularityWeight`` (no interactions) to 0 at ``ModelConfig/coldStartUserEvents``.
    @inline(__always)
    func coldStartWeight(user u: Int32) -> Float {
        let threshold = config.coldStartUserEvents
        guard threshold > 0 else { return 0 }
        let n = Int(store.eventCounts[Int(u)])
        guard n < threshold else { return 0 }
        return config.coldStartPopularityWeight * (1 - Float(n) / Float(threshold))
    }

    /// What exact and approximate ranking both score with: the query (user vector + sequence context of
    /// the last `sequenceContext` items) and, with the blend on, the dense neighbour scores of the user's
    /// recent items (cleared afterwards with ``clearNeighborScores``).
    func prepareRankingInputs(user u: Int32, recent: inout [Int32], query: inout [Float],
                              neighborContext: inout [Int32], neighborScores: inout [Float]) {
        if config.sequenceContext > 0 {
            store.recentItems(of: u, into: &recent, limit: config.sequenceContext)
        } else {
            recent.removeAll(keepingCapacity: true)
        }
        model.contextQuery(user: u, context: recent, into: &query)
        if config.neighborWidth > 0 {
            accumulateNeighborScores(user: u, context: &neighborContext, into: &neighborScores)
        } else {
            neighborContext.removeAll(keepingCapacity: true)
        }
    }

    /// MF ranking with the scoring extras: the sequence-context query, the uncertainty bonus
    /// β / sqrt(1 + n_item), the cold-start term w_u · log(1 + recent count) and the learned
    /// item-neighbour blend a · neighbours + b · log(1 + recent count).
    private func rankWithExtras(user u: Int32, selector: inout TopKSelector) {
        var query: [Float] = [], recent: [Int32] = []
        var neighborScores: [Float] = [], neighborContext: [Int32] = []
        swap(&query, &selector.query)
        swap(&recent, &selector.recent)
        swap(&neighborScores, &selector.neighborScores)
        swap(&neighborContext, &selector.neighborContext)
        defer {
            clearNeighborScores(context: neighborContext, scores: &neighborScores)
            swap(&query, &selector.query)
            swap(&recent, &selector.recent)
            swap(&neighborScores, &selector.neighborScores)
            swap(&neighborContext, &selector.neighborContext)
        }
        prepareRankingInputs(user: u, recent: &recent, query: &query,
                             neighborContext: &neighborContext, neighborScores: &neighborScores)
        let blend = config.neighborWidth > 0
        let popularityBlend = model.popularityBlend
        let n = model.itemCount
        let beta = config.uncertaintyBonus
        let scale = model.popularityScale
        let cold = coldStartWeight(user: u)
        let hasBonus = beta > 0 || cold > 0
        model.itemPopularity.withUnsafeBufferPointer { P in
          model.windowCounts.withUnsafeBufferPointer { W in
            model.windowLog.withUnsafeBufferPointer { WL in
              neighborScores.withUnsafeBufferPointer { NS in
                query.withUnsafeBufferPointer { Q in
                    model.rankingItems.scoreBlocks(user: Q.baseAddress!) { first, raw in
                        var scores = raw
                        if blend {
                            if first + 8 <= n {
                                let a = UnsafeRawPointer(NS.baseAddress! + first).loadUnaligned(as: SIMD8<Float>.self)
                                let b = UnsafeRawPointer(WL.baseAddress! + first).loadUnaligned(as: SIMD8<Float>.self)
                                scores += a + SIMD8(repeating: popularityBlend) * b
                            } else {
                                for lane in 0..<(n - first) {
                                    scores[lane] += NS[first + lane] + popularityBlend * WL[first + lane]
                                }
                            }
                        }
                        if hasBonus {
                            if beta > 0 && first + 8 <= n {
                                let p = UnsafeRawPointer(P.baseAddress! + first).loadUnaligned(as: SIMD8<Float>.self)
                                scores += SIMD8(repeating: beta) / (1 + p * scale).squareRoot()
                            } else if beta > 0 {
                                for lane in 0..<(n - first) {
                                    scores[lane] += beta / (1 + P[first + lane] * scale).squareRoot()
                                }
                            }
                            if cold > 0 {
                                for lane in 0..<min(8, n - first) {
                                    scores[lane] += cold * log1pf(Float(W[first + lane]))
                                }
                            }
                        }
                        offerBlock(first: first, scores: scores, user: u, selector: &selector)
                    }
                }
              }
            }
          }
        }
    }

    /// Popularity ranking: all-time (or half-life-decayed) weight, or — for cold start — occurrences in
    /// the recent-positives window.
    private func rankByPopularity(user: Int32?, recent: Bool, selector: inout TopKSelector) {
        func rank(_ score: (Int) -> Float, count: Int) {
            for i in 0..<count {
                let c = ScoredIndex(index: Int32(i), score: score(i))
                guard selector.admits(c) else { continue }
                if let u = user, store.hasSeen(user: u, item: c.index) { continue }
                if items.isLive(c.index) { selector.offer(c) }
            }
        }
        if user == nil && !recent && rankUnknownUserByLeaders(selector: &selector) { return }
        if recent {
            model.windowCounts.withUnsafeBufferPointer { W in rank({ Float(W[$0]) }, count: W.count) }
        } else {
            model.itemPopularity.withUnsafeBufferPointer { P in rank({ P[$0] }, count: P.count) }
        }
    }

    /// Maximal marginal relevance over the top-M in `list`: repeatedly picks the candidate maximizing
    /// `λ·rel − (1−λ)·max cos(item, picked)`, rel = score min-max normalized over the candidates (MF
    /// scores have no fixed scale, cosines do). λ = 1 reproduces the plain top-K exactly (ties resolve to
    /// the better-ranked candidate). Scores in the output stay the model's scores.
    private func rerankMMR(k: Int, selector: inout TopKSelector, list: inout [ScoredIndex]) {
        var candidates: [ScoredIndex] = [], sims: [Float] = []
        swap(&candidates, &selector.candidates)
        swap(&sims, &selector.similarity)
        defer {
            swap(&candidates, &selector.candidates)
            swap(&sims, &selector.similarity)
        }
        candidates.removeAll(keepingCapacity: true)
        candidates.append(contentsOf: list)
        list.removeAll(keepingCapacity: true)
        let m = candidates.count
        guard m > 0 else { return }
        let lambda = config.diversityLambda
        let top = candidates[0].score, bottom = candidates[m - 1].score
        let range = top - bottom
        // sims[0..<m]: max cosine to the picked set so far (+∞ once the candidate itself is picked);
        // sims[m..<2m]: candidate norms.
        sims.removeAll(keepingCapacity: true)
        sims.append(contentsOf: repeatElement(-1, count: m))
        let s = model.itemFactors.stride
        model.itemFactors.withUnsafeBufferPointer { V in
            let base = V.baseAddress!
            for c in candidates {
                let p = base + Int(c.index) * s
                sims.append(VectorKernels.norm(p, stride: s))
            }
            var picked = 0
            while picked < min(k, m) {
                var best = -1
                var bestValue = -Float.infinity
                for c in 0..<m where sims[c] != .infinity {
                    let rel = range > 0 ? (candidates[c].score - bottom) / range : 1
                    let value = lambda * rel - (1 - lambda) * sims[c]
                    if best < 0 || value > bestValue { best = c; bestValue = value }
                }
                list.append(candidates[best])
                sims[best] = .infinity
                picked += 1
                let pb = base + Int(candidates[best].index) * s
                let nb = sims[m + best]
                for c in 0..<m where sims[c] != .infinity {
                    let nc = sims[m + c]
                    let cos = VectorKernels.cosine(pb, base + Int(candidates[c].index) * s, normA: nb, normB: nc, stride: s)
                    if cos > sims[c] { sims[c] = cos }
                }
            }
        }
    }

    /// ε-greedy: each slot, with probability ε, is replaced by a random live item the user hasn't consumed
    /// and that isn't already listed (the replacement inherits the slot's score so the list stays ordered).
    private func explore(user: Int32?, list: inout [ScoredIndex]) {
        let n = model.itemCount
        guard n > 0 else { return }
        // A stream of its own, derived from (seed, user, event count): never touches the learning RNG.
        var rng = RandomSource(seed: (config.seed &* 0x9E37_79B9_7F4A_7C15) ^ 0xE8_9107_E5
            ^ (UInt64(UInt32(bitPattern: user ?? -1)) << 32) ^ UInt64(counters.events))
        for slot in list.indices where rng.nextUnitDouble() < config.explorationEpsilon {
            for _ in 0..<16 {
                let j = Int32(rng.nextInt(below: n))
                guard items.isLive(j), !(user.map { store.hasSeen(user: $0, item: j) } ?? false),
                      !list.contains(where: { $0.index == j })
                else { continue }
                list[slot] = ScoredIndex(index: j, score: list[slot].score)
                break
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
