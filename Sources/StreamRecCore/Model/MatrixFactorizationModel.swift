/// Online matrix factorization for implicit feedback, trained one event at a time by SGD.
///
/// Rows are dense slots handed out by ``IdDictionary``. All state that influences future updates —
/// factors, biases, popularity statistics and the RNG — lives here and is serialized by snapshots,
/// so a resumed run continues bit-identically.
public struct MatrixFactorizationModel: Sendable, Equatable {
    public let config: ModelConfig
    public internal(set) var userFactors: FactorMatrix
    public internal(set) var itemFactors: FactorMatrix
    public internal(set) var itemBias: [Float] = []
    /// Ranking mirror of item factors + biases (derived; see ``BlockedItemMatrix``).
    public private(set) var rankingItems: BlockedItemMatrix
    /// Interaction weight per item (for popularity ranking and novelty).
    public internal(set) var itemPopularity: [Float] = []
    /// Sum of `itemPopularity`, kept incrementally so novelty needs no O(items) pass.
    public internal(set) var totalPopularity: Double = 0
    /// Ring of recent positive item slots; sampling uniformly from it is popularity-proportional.
    var recentPositives: [Int32] = []
    var recentHead: Int = 0
    public internal(set) var rng: RandomSource
    /// Number of SGD steps applied (one per positive event).
    public internal(set) var updates: Int64 = 0
    /// Context vectors for sequence-aware scoring, one row per item slot; empty (0 rows) when
    /// `config.sequenceContext == 0` so plain MF pays no memory for them.
    public internal(set) var contextFactors: FactorMatrix
    /// Occurrences of each item in `recentPositives`: popularity over the recent window (cold start).
    /// Derived from the ring, so it is rebuilt on decode rather than serialized.
    public internal(set) var windowCounts: [UInt32] = []
    /// Latest event time seen (ms, monotone); `Int64.min` before the first event.
    public internal(set) var clock: Int64 = .min
    /// Event time at which stored popularity is in true units; with a popularity half-life, stored values
    /// are inflated by `2^((t − epoch)/halfLife)` when added, so decay needs no O(items) pass per event.
    public internal(set) var popularityEpoch: Int64 = .min
    /// Event time of each item's latest interaction (factor decay, TTL).
    public internal(set) var itemLastSeen: [Int64] = []
    /// Approximate-ranking index over the item vectors; nil = exact ranking (see ``ItemIndex``). Kept in
    /// step by ``syncRankingRow(_:)``; its persistent part travels in snapshots.
    public internal(set) var itemIndex: ItemIndex?
    /// Exact most-popular prefix for the unknown-user fallback (derived; see ``PopularityLeaders``).
    public internal(set) var popularityLeaders = PopularityLeaders()
    /// Scratch rows: rollback copies, the difference vector, the context query and context rows.
    var scratch: [Float]
    /// Item–item co-occurrence scorer (empty when `config.neighborWidth == 0`).
    public internal(set) var neighbors: ItemNeighbors
    /// `log(1 + occurrences in the recent-positives window)` per item: the recency-aware popularity term
    /// of the blend. Derived from the ring, so rebuilt on decode rather than serialized.
    public internal(set) var windowLog: [Float] = []
    /// Learned blend weights of the neighbour score and the recent-popularity term (MF's weight is 1).
    public internal(set) var neighborBlend: Float = 1
    public internal(set) var popularityBlend: Float = 0

    public init(config: ModelConfig) {
        self.config = config
        userFactors = FactorMatrix(dimension: config.factors)
        itemFactors = FactorMatrix(dimension: config.factors)
        rankingItems = BlockedItemMatrix(dimension: config.factors)
        rng = RandomSource(seed: config.seed)
        contextFactors = FactorMatrix(dimension: config.factors)
        scratch = [Float](repeating: 0, count: (5 + config.sequenceContext) * userFactors.stride)
        neighbors = ItemNeighbors(width: config.neighborWidth)
    }

    /// Whether the recent-positives window counts are maintained (cold start and the blend use them).
    @inline(__always)
    var countsWindow: Bool { config.coldStartUserEvents > 0 || config.neighborWidth > 0 }

    public var itemCount: Int { itemFactors.rows }
    public var userCount: Int { userFactors.rows }

    // MARK: Slots

    /// Makes sure user slot `u` exists; new rows get random initial factors.
    public mutating func ensureUser(_ u: Int32) {
        while userFactors.rows <= Int(u) {
            let r = userFactors.appendRow()
            Self.randomize(&userFactors, row: r, rng: &rng, scale: config.initScale)
        }
    }

    public mutating func ensureItem(_ i: Int32) {
        while itemFactors.rows <= Int(i) {
            let r = itemFactors.appendRow()
            Self.randomize(&itemFactors, row: r, rng: &rng, scale: config.initScale)
            itemBias.append(0)
            itemPopularity.append(0)
            windowCounts.append(0)
            if config.neighborWidth > 0 { windowLog.append(0) }
            neighbors.appendItem()
            itemLastSeen.append(clock == .min ? 0 : clock)
            if config.sequenceContext > 0 { contextFactors.appendRow() }
            rankingItems.appendItem()
            syncRankingRow(Int32(r))
        }
    }

    /// Re-initializes a reused user slot (the previous occupant was evicted).
    public mutating func resetUser(_ u: Int32) {
        Self.randomize(&userFactors, row: Int(u), rng: &rng, scale: config.initScale)
    }

    /// Re-initializes a reused item slot, forgetting its popularity.
    public mutating func resetItem(_ i: Int32) {
        Self.randomize(&itemFactors, row: Int(i), rng: &rng, scale: config.initScale)
        itemBias[Int(i)] = 0
        totalPopularity -= Double(itemPopularity[Int(i)])
        itemPopularity[Int(i)] = 0
        popularityLeaders.reset(i, popularity: itemPopularity)
        itemLastSeen[Int(i)] = clock == .min ? 0 : clock
        neighbors.reset(item: i)
        if config.sequenceContext > 0 { contextFactors.setRow(Int(i), [Float](repeating: 0, count: config.factors)) }
        syncRankingRow(i)
    }

    /// Overwrites a user's factors (tests, warm starts).
    public mutating func setUserFactors(_ u: Int32, _ values: [Float]) { userFactors.setRow(Int(u), values) }

    /// Overwrites an item's factors (cold-start initialization from similar items).
    public mutating func setItemFactors(_ i: Int32, _ values: [Float]) {
        itemFactors.setRow(Int(i), values)
        syncRankingRow(i)
    }

    public mutating func setItemBias(_ i: Int32, _ value: Float) {
        itemBias[Int(i)] = value
        syncRankingRow(i)
    }

    /// Refreshes item `i`'s lane in the ranking mirror after its factors or bias changed.
    @inline(__always)
    mutating func syncRankingRow(_ i: Int32) {
        let bias = config.useItemBias ? itemBias[Int(i)] : 0
        let s = itemFactors.stride
        itemFactors.withUnsafeBufferPointer { V in
            rankingItems.update(item: Int(i), factors: V.baseAddress! + Int(i) * s, bias: bias)
        }
        if itemIndex != nil { syncIndex(i) }
    }

    private static func randomize(_ m: inout FactorMatrix, row: Int, rng: inout RandomSource, scale: Float) {
        let k = m.dimension
        let base = row * m.stride
        m.markChanged(row)
        m.withUnsafeMutableBufferPointer { buf in
            for c in 0..<k { buf[base + c] = rng.nextGaussian() * scale }
        }
    }

    // MARK: Scoring

    @inline(__always)
    public func score(user u: Int32, item i: Int32) -> Float {
        let s = userFactors.stride
        return userFactors.withUnsafeBufferPointer { U in
            itemFactors.withUnsafeBufferPointer { V in
                VectorKernels.dot(U.baseAddress! + Int(u) * s, V.baseAddress! + Int(i) * s, stride: s)
            }
        } + (config.useItemBias ? itemBias[Int(i)] : 0)
    }

    // MARK: Learning

    /// Records a positive interaction for popularity statistics (all rankers use these).
    /// With ``ModelConfig/popularityHalfLife`` the weight is inflated by the current decay gain (see
    /// ``popularityEpoch``); ratios between items and to ``totalPopularity`` stay exact.
    public mutating func observe(item i: Int32, weight: Float) {
        let w = config.popularityHalfLife > 0 ? weight * popularityGain() : weight
        itemPopularity[Int(i)] += w
        totalPopularity += Double(w)
        if w > 0 { popularityLeaders.increased(i, popularity: itemPopularity) }
        // Window counts feed cold-start ranking only; plain MF skips the extra random access.
        let counting = countsWindow
        if counting {
            windowCounts[Int(i)] &+= 1
            refreshWindowLog(i)
        }
        if recentPositives.count < config.popularityWindow {
            recentPositives.append(i)
        } else {
            if counting {
                let old = recentPositives[recentHead]
                windowCounts[Int(old)] &-= 1
                refreshWindowLog(old)
            }
            recentPositives[recentHead] = i
            recentHead = (recentHead + 1) % config.popularityWindow
        }
    }

    @inline(__always)
    mutating func refreshWindowLog(_ i: Int32) {
        if config.neighborWidth > 0 { windowLog[Int(i)] = log1pf(Float(windowCounts[Int(i)])) }
    }

    /// Draws a negative item slot for `user`, avoiding the positive and (a bounded number of tries)
    /// items the user has consumed or dead slots.
    @inline(__always)
    mutating func sampleNegative(
        positive: Int32,
        isExcluded: (Int32) -> Bool
    ) -> Int32? {
        let n = itemFactors.rows
        guard n > 1 else { return nil }
        for _ in 0..<4 {
            let j: Int32
            switch config.negativeSampling {
            case .uniform:
                j = Int32(rng.nextInt(below: n))
            case .popularity:
                j =
                    recentPositives.isEmpty
                    ? Int32(rng.nextInt(below: n)) : recentPositives[rng.nextInt(below: recentPositives.count)]
            }
            if j != positive && !isExcluded(j) { return j }
        }
        return nil
    }

    /// One SGD step for the positive (u, i) with `config.negatives` sampled negatives, scaled by `weight`.
    ///
    /// - Throws: ``NonFiniteModelError`` if a step would produce NaN/Inf; that step is rolled back.
    ///
    /// `context` (sequence-aware scoring): item slots the user consumed just before `i`; when non-empty
    /// the step trains `(u + mean context vectors) · v` and the gradient also flows to those items'
    /// context vectors.
    public mutating func learn(
        user u: Int32,
        item i: Int32,
        weight: Float,
        context: [Int32] = [],
        isExcluded: (Int32) -> Bool
    ) throws(NonFiniteModelError) {
        guard weight > 0 else { return }
        updates += 1
        if !context.isEmpty && config.sequenceContext > 0 {
            try learnWithContext(user: u, item: i, weight: weight, context: context, isExcluded: isExcluded)
            return
        }
        switch config.loss {
        case .bpr:
            if config.negatives == 0 { return }
            for _ in 0..<config.negatives {
                guard let j = sampleNegative(positive: i, isExcluded: isExcluded) else { break }
                try bprStep(u, i, j, weight)
            }
        case .isgd:
            try pointwiseStep(u, i, target: 1, weight)
            for _ in 0..<config.negatives {
                guard let j = sampleNegative(positive: i, isExcluded: isExcluded) else { break }
                try pointwiseStep(u, j, target: 0, weight)
            }
        }
    }

    public var allocatedBytes: Int {
        userFactors.allocatedBytes + itemFactors.allocatedBytes
            + (itemBias.capacity + itemPopularity.capacity + recentPositives.capacity + windowCounts.capacity) * 4
            + itemLastSeen.capacity * 8 + contextFactors.allocatedBytes + rankingItems.allocatedBytes
            + (itemIndex?.allocatedBytes ?? 0)
            + neighbors.allocatedBytes + windowLog.capacity * 4
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.config == b.config && a.userFactors == b.userFactors && a.itemFactors == b.itemFactors
            && a.itemBias == b.itemBias && a.itemPopularity == b.itemPopularity
            && a.totalPopularity == b.totalPopularity
            && a.recentPositives == b.recentPositives && a.recentHead == b.recentHead && a.rng == b.rng
            && a.updates == b.updates && a.contextFactors == b.contextFactors && a.clock == b.clock
            && a.popularityEpoch == b.popularityEpoch && a.itemLastSeen == b.itemLastSeen
            && a.neighbors == b.neighbors && a.neighborBlend == b.neighborBlend
            && a.popularityBlend == b.popularityBlend
        // `itemIndex` is ranking state, not learning state (a learner ranking exactly equals one ranking
        // approximately); compare it separately where it matters (ItemIndexTests).
    }

    // MARK: Serialization

    func encode(into w: inout BinaryWriter) {
        w.write(UInt32(userFactors.rows))
        w.writeArray(userFactors.unpaddedValues())
        w.write(UInt32(itemFactors.rows))
        w.writeArray(itemFactors.unpaddedValues())
        w.writeArray(itemBias)
        w.writeArray(itemPopularity)
        w.write(totalPopularity)
        w.writeArray(recentPositives)
        w.write(UInt64(recentHead))
        w.write(rng.state.0)
        w.write(rng.state.1)
        w.write(rng.state.2)
        w.write(rng.state.3)
        w.write(updates)
        // Format 2: beyond-MF state.
        w.write(UInt32(contextFactors.rows))
        w.writeArray(contextFactors.unpaddedValues())
        w.write(clock)
        w.write(popularityEpoch)
        w.writeArray(itemLastSeen)
        // Format 3: item-neighbour blend.
        neighbors.encode(into: &w)
        w.write(neighborBlend)
        w.write(popularityBlend)
    }

    /// Decodes a model; `formatVersion` 1 snapshots predate the beyond-MF state, which then starts empty.
    static func decode(
        from r: inout BinaryReader,
        config: ModelConfig,
        formatVersion: UInt32 = SnapshotCodec.formatVersion
    ) throws(BinaryReader.Failure) -> Self {
        var m = MatrixFactorizationModel(config: config)
        let k = config.factors
        let users = Int(try r.read(UInt32.self, "user rows"))
        let uf = try r.readArray(Float.self, "user factors")
        let items = Int(try r.read(UInt32.self, "item rows"))
        let vf = try r.readArray(Float.self, "item factors")
        guard uf.count == users * k, vf.count == items * k else {
            throw .init(description: "factor matrix sizes do not match k=\(k)")
        }
        m.userFactors = FactorMatrix(dimension: k, rows: users, unpadded: uf)
        m.itemFactors = FactorMatrix(dimension: k, rows: items, unpadded: vf)
        m.itemBias = try r.readArray(Float.self, "item bias")
        guard m.itemBias.count == items else { throw .init(description: "item bias count disagrees with item count") }
        for i in 0..<items {
            m.rankingItems.appendItem()
            m.syncRankingRow(Int32(i))
        }
        m.itemPopularity = try r.readArray(Float.self, "item popularity")
        m.totalPopularity = try r.readDouble("total popularity")
        m.recentPositives = try r.readArray(Int32.self, "recent positives")
        m.recentHead = Int(try r.read(UInt64.self, "recent head"))
        let s = (
            try r.read(UInt64.self, "rng"), try r.read(UInt64.self, "rng"),
            try r.read(UInt64.self, "rng"), try r.read(UInt64.self, "rng")
        )
        guard let rng = RandomSource(state: s) else { throw .init(description: "invalid RNG state") }
        m.rng = rng
        m.updates = try r.read(Int64.self, "updates")
        if formatVersion >= 2 {
            let contextRows = Int(try r.read(UInt32.self, "context rows"))
            let cf = try r.readArray(Float.self, "context factors")
            guard contextRows == (config.sequenceContext > 0 ? items : 0), cf.count == contextRows * k else {
                throw .init(description: "context factor matrix size disagrees with the config")
            }
            m.contextFactors = FactorMatrix(dimension: k, rows: contextRows, unpadded: cf)
            m.clock = try r.read(Int64.self, "clock")
            m.popularityEpoch = try r.read(Int64.self, "popularity epoch")
            m.itemLastSeen = try r.readArray(Int64.self, "item last seen")
        } else {
            m.contextFactors = FactorMatrix(dimension: k, rows: config.sequenceContext > 0 ? items : 0)
            m.itemLastSeen = [Int64](repeating: 0, count: items)
        }
        if formatVersion >= 3 {
            m.neighbors = try ItemNeighbors.decode(from: &r, width: config.neighborWidth, items: items)
            m.neighborBlend = try r.readFloat("neighbour blend")
            m.popularityBlend = try r.readFloat("popularity blend")
        } else {
            for _ in 0..<items { m.neighbors.appendItem() }
        }
        m.windowCounts = [UInt32](repeating: 0, count: items)
        m.popularityLeaders.rebuild(popularity: m.itemPopularity)
        if m.countsWindow {
            for i in m.recentPositives where Int(i) < items && i >= 0 { m.windowCounts[Int(i)] &+= 1 }
        }
        if config.neighborWidth > 0 { m.windowLog = m.windowCounts.map { log1pf(Float($0)) } }
        guard m.itemLastSeen.count == items, m.itemBias.count == items, m.itemPopularity.count == items,
            m.recentPositives.allSatisfy({ $0 >= 0 && Int($0) < items }),
            m.recentHead <= max(m.recentPositives.count, 0)
        else { throw .init(description: "item arrays disagree with the item count") }
        return m
    }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
