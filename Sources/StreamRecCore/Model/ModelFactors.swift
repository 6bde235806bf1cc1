/// The learned vectors — user, item and sequence-context factors, item biases — and the ranking
/// structures derived from the item vectors: the blocked ranking mirror and, when ranking
/// approximately, the item index.
///
/// Invariant: whenever an item's factors or bias change, its ranking lane and index entry are refreshed
/// (``itemChanged(_:)``). The mutating methods here keep it; raw row writers (the SGD step, item sync)
/// write through ``items`` / ``itemBias`` and then call ``itemChanged(_:)`` themselves.
public struct ModelFactors: Sendable {
    private let useItemBias: Bool
    private let hasContext: Bool
    public internal(set) var users: FactorMatrix
    public internal(set) var items: FactorMatrix
    public internal(set) var itemBias: [Float] = []
    /// Context vectors for sequence-aware scoring, one row per item slot; empty (0 rows) when
    /// `sequenceContext == 0` so plain MF pays no memory for them.
    public internal(set) var context: FactorMatrix
    /// Ranking mirror of item factors + biases (see ``BlockedItemMatrix``).
    public private(set) var rankingItems: BlockedItemMatrix
    /// Approximate-ranking index; nil = exact ranking (see ``ItemIndex``). Its persistent part travels in
    /// snapshots as an extension.
    public internal(set) var index: ItemIndex?

    init(config: ModelConfig) {
        useItemBias = config.useItemBias
        hasContext = config.sequenceContext > 0
        users = FactorMatrix(dimension: config.factors)
        items = FactorMatrix(dimension: config.factors)
        context = FactorMatrix(dimension: config.factors)
        rankingItems = BlockedItemMatrix(dimension: config.factors)
    }

    public var dimension: Int { items.dimension }

    // MARK: Rows

    mutating func appendUser(rng: inout RandomSource, scale: Float) {
        let r = users.appendRow()
        Self.randomize(&users, row: r, rng: &rng, scale: scale)
    }

    mutating func resetUser(_ u: Int32, rng: inout RandomSource, scale: Float) {
        Self.randomize(&users, row: Int(u), rng: &rng, scale: scale)
    }

    mutating func setUser(_ u: Int32, _ values: [Float]) { users.setRow(Int(u), values) }

    mutating func appendItem(rng: inout RandomSource, scale: Float) {
        let r = items.appendRow()
        Self.randomize(&items, row: r, rng: &rng, scale: scale)
        itemBias.append(0)
        if hasContext { context.appendRow() }
        rankingItems.appendItem()
        itemChanged(Int32(r))
    }

    /// A reused slot starts from fresh random factors, no bias and a zero context vector.
    mutating func resetItem(_ i: Int32, rng: inout RandomSource, scale: Float) {
        Self.randomize(&items, row: Int(i), rng: &rng, scale: scale)
        itemBias[Int(i)] = 0
        if hasContext { context.setRow(Int(i), [Float](repeating: 0, count: items.dimension)) }
        itemChanged(i)
    }

    mutating func setItem(_ i: Int32, _ values: [Float]) {
        items.setRow(Int(i), values)
        itemChanged(i)
    }

    mutating func setBias(_ i: Int32, _ value: Float) {
        itemBias[Int(i)] = value
        itemChanged(i)
    }

    /// Shrinks user `u`'s factors toward 0 by `factor` (factor decay).
    mutating func decayUser(_ u: Int32, by factor: Float) { Self.shrink(&users, row: Int(u), by: factor) }

    mutating func decayItem(_ i: Int32, by factor: Float) {
        Self.shrink(&items, row: Int(i), by: factor)
        itemChanged(i)
    }

    /// Refreshes item `i`'s lane in the ranking mirror (and its index entry) after its factors or bias
    /// changed.
    @inline(__always)
    mutating func itemChanged(_ i: Int32) {
        let bias = useItemBias ? itemBias[Int(i)] : 0
        let s = items.stride
        items.withUnsafeBufferPointer { V in
            rankingItems.update(item: Int(i), factors: V.baseAddress! + Int(i) * s, bias: bias)
        }
        if index != nil { syncIndex(i) }
    }

    private static func randomize(_ m: inout FactorMatrix, row: Int, rng: inout RandomSource, scale: Float) {
        let k = m.dimension
        let base = row * m.stride
        m.markChanged(row)
        m.withUnsafeMutableBufferPointer { buf in
            for c in 0..<k { buf[base + c] = rng.nextGaussian() * scale }
        }
    }

    private static func shrink(_ m: inout FactorMatrix, row: Int, by factor: Float) {
        let s = m.stride
        m.markChanged(row)
        m.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress! + row * s
            VectorKernels.scaleAdd(p, decay: factor, alpha: 0, p, stride: s)
        }
    }

    // MARK: Scoring

    @inline(__always)
    func score(user u: Int32, item i: Int32) -> Float {
        let s = users.stride
        return users.withUnsafeBufferPointer { U in
            items.withUnsafeBufferPointer { V in
                VectorKernels.dot(U.baseAddress! + Int(u) * s, V.baseAddress! + Int(i) * s, stride: s)
            }
        } + (useItemBias ? itemBias[Int(i)] : 0)
    }

    /// `query · v_i + b_i` for a query from ``contextQuery(user:context:into:)``.
    @inline(__always)
    func score(query: [Float], item i: Int32) -> Float {
        let s = items.stride
        return query.withUnsafeBufferPointer { Q in
            items.withUnsafeBufferPointer { V in
                VectorKernels.dot(Q.baseAddress!, V.baseAddress! + Int(i) * s, stride: s)
            }
        } + (useItemBias ? itemBias[Int(i)] : 0)
    }

    /// Writes the context-aware query `u + mean(context vectors of context)` into `query` (resized to the
    /// row stride; capacity reused). With an empty context the query is just the user's factors.
    func contextQuery(user u: Int32, context recent: [Int32], into query: inout [Float]) {
        let s = users.stride
        if query.count != s { query = [Float](repeating: 0, count: s) }
        query.withUnsafeMutableBufferPointer { Q in
            users.withUnsafeBufferPointer { U in
                Q.baseAddress!.update(from: U.baseAddress! + Int(u) * s, count: s)
            }
            guard !recent.isEmpty, context.rows > 0 else { return }
            let inv = 1 / Float(recent.count)
            context.withUnsafeBufferPointer { C in
                for j in recent where Int(j) < context.rows {
                    VectorKernels.scaleAdd(Q.baseAddress!, decay: 1, alpha: inv, C.baseAddress! + Int(j) * s, stride: s)
                }
            }
        }
    }

    // MARK: Ranking index

    /// Switches ranking mode. `.approximate` builds the index now when the catalog is large enough (a
    /// deterministic function of the current state) and keeps an index restored from a snapshot as is.
    mutating func setRanking(_ mode: RankingMode, probes: Int?, buildThreshold: Int) {
        switch mode {
        case .exact:
            index = nil
        case .approximate:
            if index == nil {
                index = ItemIndex(dimension: items.dimension, buildThreshold: buildThreshold)
                if index!.needsRebuild(itemCount: items.rows) { rebuildIndex() }
            }
            if let probes { index!.probes = max(1, probes) }
        }
    }

    /// Item `i` changed (or is new): rebuild the centroids at a size milestone, else refresh its entry.
    private mutating func syncIndex(_ i: Int32) {
        if index!.needsRebuild(itemCount: items.rows) {
            rebuildIndex()
            return
        }
        let bias = useItemBias ? itemBias[Int(i)] : 0
        let s = items.stride
        items.withUnsafeBufferPointer { V in
            index!.sync(item: Int(i), factors: V.baseAddress! + Int(i) * s, bias: bias)
        }
    }

    private mutating func rebuildIndex() {
        // Moved out while rebuilding so the index is uniquely referenced (no copy-on-write of its lists).
        var moved = index!
        index = nil
        moved.rebuild(factors: items, biases: useItemBias ? itemBias : nil)
        index = moved
    }

    /// Restores an index from its snapshot encoding against these item vectors.
    mutating func restoreIndex(from bytes: [UInt8]) throws(BinaryReader.Failure) {
        var r = BinaryReader(bytes)
        index = try ItemIndex.decode(from: &r, factors: items, biases: useItemBias ? itemBias : nil)
        guard r.remaining == 0 else { throw .init(description: "trailing bytes after the item index") }
    }

    func encodedIndex() -> [UInt8]? {
        guard let index else { return nil }
        var w = BinaryWriter()
        index.encode(into: &w)
        return w.bytes
    }

    /// Restores the serialized vectors; the ranking mirror is rebuilt from them.
    mutating func restore(users: FactorMatrix, items: FactorMatrix, itemBias: [Float], context: FactorMatrix) {
        self.users = users
        self.items = items
        self.itemBias = itemBias
        self.context = context
        for i in 0..<items.rows {
            rankingItems.appendItem()
            itemChanged(Int32(i))
        }
    }

    var allocatedBytes: Int {
        users.allocatedBytes + items.allocatedBytes + itemBias.capacity * 4 + context.allocatedBytes
            + rankingItems.allocatedBytes + (index?.allocatedBytes ?? 0)
    }
}

/// Learning state only: the ranking mirror and index are derived (a learner ranking exactly equals one
/// ranking approximately); compare the index separately where it matters (ItemIndexTests).
extension ModelFactors: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.users == b.users && a.items == b.items && a.itemBias == b.itemBias && a.context == b.context
    }
}
