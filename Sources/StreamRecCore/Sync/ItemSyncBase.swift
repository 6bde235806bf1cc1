/// What both sides of item-state sharing keep per learner: its *base* (its view of the shared item state,
/// per local slot) and the notes of what it changed since its last publication (touched slots, events,
/// co-occurrence ops); and the two operations built on them: ``collect`` (the ``ItemDeltaBatch`` of
/// `current − base`) and ``replayPairs`` (another learner's co-occurrence ops into this learner's table).
/// Used by the round-based ``ItemSyncReplica`` (`replay --learners`) and the asynchronous
/// ``ItemSyncStream`` (serve's model-sync topic).
struct ItemSyncBase: Sendable {
    /// Base per local item slot (rows × k), the id it belongs to ("" = no base: new since last collect).
    var ids: [String] = []
    var factors: [Float] = []
    var context: [Float] = []
    var bias: [Float] = []
    /// Stored (not decayed) units, like ``MatrixFactorizationModel/itemPopularity``.
    var popularity: [Float] = []
    var neighborBlend: Float = 1
    var popularityBlend: Float = 0
    /// Slots seen touched since the last collect (positives, context items): rows whose factors may
    /// change without their bias changing.
    var touched: [Bool] = []
    var eventsSinceCollect: Int64 = 0
    /// Co-occurrence ops noted since the last collect (only with neighbour sharing on).
    var pairIds: [String] = []
    var pairIndex: [String: UInt32] = [:]
    var pairOps: [UInt32] = []
    var pairScratch: [Int32] = []

    init() {}

    mutating func noteTouched(_ slot: Int32) {
        let s = Int(slot)
        guard s >= 0 else { return }
        if s >= touched.count {
            touched.append(contentsOf: repeatElement(false, count: max(s + 1, touched.count * 2) - touched.count))
        }
        touched[s] = true
    }

    mutating func notePairs(item: Int32, previous: [Int32], learner: OnlineLearner) {
        func ref(_ slot: Int32) -> UInt32? {
            guard let id = learner.items.id(at: slot) else { return nil }
            if let r = pairIndex[id] { return r }
            let r = UInt32(pairIds.count)
            pairIds.append(id)
            pairIndex[id] = r
            return r
        }
        guard let i = ref(item) else { return }
        pairOps.append(i)
        let countAt = pairOps.count
        pairOps.append(0)
        for x in previous { if let r = ref(x) { pairOps.append(r) } }
        pairOps[countAt] = UInt32(pairOps.count - countAt - 1)
    }

    func hasBase(_ s: Int, id: String) -> Bool { s < ids.count && ids[s] == id }

    /// The batch of `current − base` for every changed item (new items: their current row as the base
    /// and their whole popularity as the delta), the blend-weight changes and the noted pair ops.
    /// `skip(slot)`: rows with a base held back this time (their change stays in `current − base`). With `adopt`,
    /// every published row's base becomes its current row (the asynchronous stream); without, the
    /// caller sets bases when it applies the round (the replica).
    mutating func collect(
        from learner: OnlineLearner,
        publisher: UInt32,
        sequence: UInt64,
        adopt: Bool,
        skip: (Int) -> Bool = { _ in false }
    ) -> ItemDeltaBatch {
        let model = learner.model
        let k = learner.config.factors
        let ctx = learner.config.sequenceContext > 0
        let stride = model.itemFactors.stride
        var b = ItemDeltaBatch(publisher: publisher, sequence: sequence, dimension: k, hasContext: ctx)
        b.events = eventsSinceCollect
        eventsSinceCollect = 0
        b.neighborBlendDelta = model.neighborBlend - neighborBlend
        b.popularityBlendDelta = model.popularityBlend - popularityBlend
        if adopt {
            neighborBlend = model.neighborBlend
            popularityBlend = model.popularityBlend
        }
        let scale = model.popularityScale
        // Bias moves on every SGD step that touches an item (positive or negative); without biases every
        // row is compared.
        let scanAll = !learner.config.useItemBias
        var published: [Int32] = []
        model.itemFactors.withUnsafeBufferPointer { V in
            model.contextFactors.withUnsafeBufferPointer { C in
                for s in 0..<learner.items.slotCount {
                    guard let id = learner.items.id(at: Int32(s)) else { continue }
                    let row = s * stride
                    if !hasBase(s, id: id) {
                        b.newRows.append(UInt32(b.ids.count))
                        b.ids.append(id)
                        b.baseFactors.append(contentsOf: V[row..<(row + k)])
                        b.factorDeltas.append(contentsOf: repeatElement(0, count: k))
                        if ctx {
                            b.baseContext.append(contentsOf: C[row..<(row + k)])
                            b.contextDeltas.append(contentsOf: repeatElement(0, count: k))
                        }
                        b.baseBias.append(model.itemBias[s])
                        b.biasDeltas.append(0)
                        b.popularityDeltas.append(model.itemPopularity[s] * scale)
                        b.lastSeen.append(model.itemLastSeen[s])
                        if adopt { published.append(Int32(s)) }
                        continue
                    }
                    let candidate =
                        scanAll || (s < touched.count && touched[s]) || model.itemBias[s] != bias[s]
                        || model.itemPopularity[s] != popularity[s]
                    guard candidate, !skip(s) else { continue }
                    var changed = model.itemBias[s] != bias[s] || model.itemPopularity[s] != popularity[s]
                    for c in 0..<k where !changed {
                        if V[row + c] != factors[s * k + c] || (ctx && C[row + c] != context[s * k + c]) {
                            changed = true
                        }
                    }
                    guard changed else { continue }
                    b.ids.append(id)
                    for c in 0..<k { b.factorDeltas.append(V[row + c] - factors[s * k + c]) }
                    if ctx { for c in 0..<k { b.contextDeltas.append(C[row + c] - context[s * k + c]) } }
                    b.biasDeltas.append(model.itemBias[s] - bias[s])
                    b.popularityDeltas.append((model.itemPopularity[s] - popularity[s]) * scale)
                    b.lastSeen.append(model.itemLastSeen[s])
                    if adopt { published.append(Int32(s)) }
                }
            }
        }
        // Held-back rows stay marked, so a later collect still looks at them.
        for s in touched.indices where touched[s] && !skip(s) { touched[s] = false }
        for slot in published { adoptRow(slot, of: learner) }
        if !pairOps.isEmpty {
            b.pairIds = pairIds
            b.pairOps = pairOps
            pairIds.removeAll(keepingCapacity: true)
            pairIndex.removeAll(keepingCapacity: true)
            pairOps.removeAll(keepingCapacity: true)
        }
        return b
    }

    /// base := the learner's current row of `slot` (and the slot's id).
    mutating func adoptRow(_ slot: Int32, of learner: OnlineLearner) {
        let s = Int(slot)
        let k = learner.config.factors
        let model = learner.model
        let stride = model.itemFactors.stride
        grow(to: s + 1, k: k)
        ids[s] = learner.items.id(at: slot) ?? ""
        model.itemFactors.withUnsafeBufferPointer { V in
            for c in 0..<k { factors[s * k + c] = V[s * stride + c] }
        }
        if learner.config.sequenceContext > 0 {
            model.contextFactors.withUnsafeBufferPointer { C in
                for c in 0..<k { context[s * k + c] = C[s * stride + c] }
            }
        }
        bias[s] = model.itemBias[s]
        popularity[s] = model.itemPopularity[s]
    }

    mutating func grow(to n: Int, k: Int) {
        guard ids.count < n else { return }
        let extra = n - ids.count
        ids.append(contentsOf: repeatElement("", count: extra))
        bias.append(contentsOf: repeatElement(0, count: extra))
        popularity.append(contentsOf: repeatElement(0, count: extra))
        factors.append(contentsOf: repeatElement(0, count: extra * k))
        context.append(contentsOf: repeatElement(0, count: extra * k))
    }

    /// Replays another learner's co-occurrence ops into this learner's neighbour table: the same pair
    /// additions (weights decaying with the gap) and occurrence counts its own events would make.
    mutating func replayPairs(_ batch: ItemDeltaBatch, into learner: inout OnlineLearner) {
        let ops = batch.pairOps
        let ids = batch.pairIds
        let decay = learner.config.neighborDecay
        var p = 0
        while p + 1 < ops.count {
            let n = Int(ops[p + 1])
            guard Int(ops[p]) < ids.count, p + 2 + n <= ops.count, let i = learner.internForSync(ids[Int(ops[p])])
            else { return }
            pairScratch.removeAll(keepingCapacity: true)
            for q in (p + 2)..<(p + 2 + n) {
                guard Int(ops[q]) < ids.count, let x = learner.internForSync(ids[Int(ops[q])]) else { return }
                pairScratch.append(x)
            }
            var w: Float = 1
            for x in pairScratch where x != i {
                learner.model.blend.neighbors.add(x, i, w)
                learner.model.blend.neighbors.add(i, x, w)
                w *= decay
            }
            learner.model.blend.neighbors.countOccurrence(i)
            p += 2 + n
        }
    }
}
