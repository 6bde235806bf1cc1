/// How concurrent item deltas from several learners combine into the shared item state.
public enum ItemMergeRule: String, Sendable, Codable, CaseIterable {
    /// Shared = base + Σ deltas: every learner's SGD steps count in full, as with a parameter server that
    /// applies pushed gradients (staleness = the sync interval).
    case sum
    /// Shared = base + mean of the deltas of the learners that changed the item (model averaging): safer
    /// when several learners push the same item the same way, but each learner's steps count 1/n.
    case mean
}

/// One learner's side of **round-based** item-state sharing (`replay --learners`; pure state, no I/O):
/// it remembers its view of the shared item state (the "base": what the shared state was at the last
/// sync, per local slot), publishes `current − base` for changed
/// items as an ``ItemDeltaBatch`` keyed by external id, and applies every learner's batches of a sync
/// round, in publisher order, so all replicas end the round with the same item rows.
///
/// Shared: item factors, item bias, sequence-context vectors, popularity (always summed: counts are
/// additive), last-seen time (max) and the two blend weights (merged like the rows). The item–item
/// co-occurrence table is slot-addressed with bounded lists, so a row delta would cost its width in
/// (id, weight) pairs; instead the learner notes each event's pairs (``notePairs``, ~10 ids per event)
/// and the others replay the same additions, so every table counts every learner's events (optional:
/// measured necessary on ML-100K, docs/scale-out.md). The recent-positives ring (negative sampling, the
/// recent-popularity term) stays per learner: it is a FIFO of local events. Per-user state never leaves
/// the learner.
///
/// Round semantics (what ``ScaleOutReplay`` drives; a Kafka consumer of the sync topic applies the same
/// records in topic order): all learners ``collect`` at the same event time, then each ``apply``s all
/// batches. Since nothing is learned between the two, a learner's row after the round *is* the merged
/// shared row; an asynchronous consumer would add (merged − its view − its own delta) instead.
/// A new item's first publication in publisher order fixes its base (the publisher's row then); later
/// "new" records of the same item in that round add nothing, so a second creator's first-interval steps
/// on that item are dropped — a bounded loss that keeps replicas identical. Missed change detection only
/// delays a row (deltas are always against the base), it never loses it.
public struct ItemSyncReplica: Sendable {
    public let publisher: UInt32
    public let merge: ItemMergeRule
    private var sequence: UInt64 = 0
    /// The base (this learner's view of the shared rows at the last round) and the change notes.
    private var base = ItemSyncBase()
    /// Round scratch, reused: per-slot accumulators and the slots they cover.
    private var roundSlots: [Int32] = []
    private var inRound: [Bool] = []
    private var accFactors: [Float] = []
    private var accContext: [Float] = []
    private var accBias: [Float] = []
    private var accCount: [Float] = []
    private var viewFactors: [Float] = []
    private var viewContext: [Float] = []
    private var viewBias: [Float] = []
    private var popDelta: [Float] = []
    private var viewPopularity: [Float] = []
    private var lastSeenMax: [Int64] = []

    /// `publisher`: this learner's index (its batches' order in a round); all replicas of a group must use
    /// the same `merge`. The blend-weight base starts at the model's initial weights (1, 0).
    public init(publisher: UInt32, merge: ItemMergeRule = .sum) {
        self.publisher = publisher
        self.merge = merge
    }

    /// Marks an item slot as (possibly) changed by the event being learned.
    public mutating func noteTouched(_ slot: Int32) { base.noteTouched(slot) }

    public mutating func noteEvent() { base.eventsSinceCollect += 1 }

    /// Records the co-occurrence pairs the learner just added for `item` (its user's previous items,
    /// most recent first, as ``OnlineLearner/learnNeighbors`` used them), for the other learners to replay.
    public mutating func notePairs(item: Int32, previous: [Int32], learner: OnlineLearner) {
        base.notePairs(item: item, previous: previous, learner: learner)
    }

    /// The batch of this learner's item changes since its view of the shared state.
    public mutating func collect(from learner: OnlineLearner) -> ItemDeltaBatch {
        sequence += 1
        return base.collect(from: learner, publisher: publisher, sequence: sequence, adopt: false)
    }

    /// Applies one sync round: `batches` in publisher order (this learner's own included). Afterwards the
    /// learner's rows of every item in any batch equal the merged shared rows, and so does its base.
    /// Items it never saw are interned (so it can recommend them).
    public mutating func apply(_ batches: [ItemDeltaBatch], to learner: inout OnlineLearner) {
        let k = learner.config.factors
        let ctx = learner.config.sequenceContext > 0
        roundSlots.removeAll(keepingCapacity: true)
        var blendA: Float = 0
        var blendB: Float = 0
        for batch in batches {
            precondition(batch.dimension == k && batch.hasContext == ctx, "sync batch shape disagrees with the model")
            blendA += batch.neighborBlendDelta
            blendB += batch.popularityBlendDelta
            for (r, newRow) in batch.rows {
                let id = batch.ids[r]
                guard let slot = learner.internForSync(id) else { continue }
                let s = Int(slot)
                growRound(to: s + 1, k: k)
                if !inRound[s] {
                    inRound[s] = true
                    roundSlots.append(slot)
                    for c in 0..<k {
                        accFactors[s * k + c] = 0
                        accContext[s * k + c] = 0
                    }
                    accBias[s] = 0
                    accCount[s] = 0
                    popDelta[s] = 0
                    lastSeenMax[s] = .min
                    // The view starts from this replica's base; without one, from the first published base
                    // (or, for an item this replica can't place, from its own current row).
                    if base.hasBase(s, id: id) {
                        for c in 0..<k {
                            viewFactors[s * k + c] = base.factors[s * k + c]
                            viewContext[s * k + c] = ctx ? base.context[s * k + c] : 0
                        }
                        viewBias[s] = base.bias[s]
                        viewPopularity[s] = base.popularity[s]
                    } else if let newIndex = newRow {
                        for c in 0..<k {
                            viewFactors[s * k + c] = batch.baseFactors[newIndex * k + c]
                            viewContext[s * k + c] = ctx ? batch.baseContext[newIndex * k + c] : 0
                        }
                        viewBias[s] = batch.baseBias[newIndex]
                        viewPopularity[s] = 0  // new records carry their whole popularity as the delta
                    } else {
                        let row = learner.model.itemFactors.row(s)
                        for c in 0..<k { viewFactors[s * k + c] = row[c] }
                        if ctx {
                            let crow = learner.model.contextFactors.row(s)
                            for c in 0..<k { viewContext[s * k + c] = crow[c] }
                        }
                        viewBias[s] = learner.model.itemBias[s]
                        viewPopularity[s] = learner.model.itemPopularity[s]
                    }
                }
                if newRow == nil {
                    for c in 0..<k { accFactors[s * k + c] += batch.factorDeltas[r * k + c] }
                    if ctx { for c in 0..<k { accContext[s * k + c] += batch.contextDeltas[r * k + c] } }
                    accBias[s] += batch.biasDeltas[r]
                    accCount[s] += 1
                }
                popDelta[s] += batch.popularityDeltas[r]
                lastSeenMax[s] = max(lastSeenMax[s], batch.lastSeen[r])
            }
        }
        for batch in batches where batch.publisher != publisher && !batch.pairOps.isEmpty {
            base.replayPairs(batch, into: &learner)
        }
        learner.model.applySharedRows(
            roundSlots,
            k: k,
            context: ctx,
            mean: merge == .mean,
            view: (viewFactors, viewContext, viewBias),
            acc: (accFactors, accContext, accBias, accCount),
            popularity: (viewPopularity, popDelta),
            lastSeen: lastSeenMax
        )
        let a = max(0, base.neighborBlend + (merge == .mean ? blendA / Float(max(batches.count, 1)) : blendA))
        let bb = max(0, base.popularityBlend + (merge == .mean ? blendB / Float(max(batches.count, 1)) : blendB))
        learner.model.blend.setWeights(neighbor: a, popularity: bb)
        base.neighborBlend = a
        base.popularityBlend = bb
        // The merged rows are the new base.
        for slot in roundSlots {
            inRound[Int(slot)] = false
            base.adoptRow(slot, of: learner)
        }
    }

    private mutating func growRound(to n: Int, k: Int) {
        guard inRound.count < n else { return }
        let extra = max(n, inRound.count * 2) - inRound.count
        inRound.append(contentsOf: repeatElement(false, count: extra))
        for a in [\Self.accBias, \.accCount, \.viewBias, \.popDelta, \.viewPopularity] {
            self[keyPath: a].append(contentsOf: repeatElement(0, count: extra))
        }
        lastSeenMax.append(contentsOf: repeatElement(.min, count: extra))
        for a in [\Self.accFactors, \.accContext, \.viewFactors, \.viewContext] {
            self[keyPath: a].append(contentsOf: repeatElement(0, count: extra * k))
        }
    }

}

extension OnlineLearner {
    /// The local slot of an item published by another learner, interned if unknown (evicting like any new
    /// item would). nil only if the id cannot be placed.
    mutating func internForSync(_ id: String) -> Int32? {
        if let slot = items.index(of: id) { return slot }
        let t = items.touch(id)
        model.ensureItem(t.index)
        if t.evictedId != nil { model.resetItem(t.index) }
        return t.index
    }
}

extension MatrixFactorizationModel {
    /// Writes merged shared rows (view + summed or averaged deltas), adds popularity deltas (given in
    /// decayed units) and takes the latest last-seen time, keeping the ranking mirror and the popularity
    /// leaders in step.
    mutating func applySharedRows(
        _ slots: [Int32],
        k: Int,
        context: Bool,
        mean: Bool,
        view: (factors: [Float], context: [Float], bias: [Float]),
        acc: (factors: [Float], context: [Float], bias: [Float], count: [Float]),
        popularity: (view: [Float], delta: [Float]),
        lastSeen: [Int64]
    ) {
        let stride = factors.items.stride
        let gain = statistics.popularityGain()
        for slot in slots {
            let s = Int(slot)
            let div: Float = mean && acc.count[s] > 1 ? acc.count[s] : 1
            // Raw writes: mark the rows so incremental snapshot capture (FactorShadows) copies them.
            factors.items.markChanged(s)
            if context { factors.context.markChanged(s) }
            factors.items.withUnsafeMutableBufferPointer { V in
                for c in 0..<k { V[s * stride + c] = view.factors[s * k + c] + acc.factors[s * k + c] / div }
            }
            if context {
                factors.context.withUnsafeMutableBufferPointer { C in
                    for c in 0..<k { C[s * stride + c] = view.context[s * k + c] + acc.context[s * k + c] / div }
                }
            }
            factors.itemBias[s] = view.bias[s] + acc.bias[s] / div
            // Popularity = the view (stored units) + everyone's additions (decayed units → stored).
            statistics.setSyncedPopularity(slot, popularity.view[s] + popularity.delta[s] * gain)
            statistics.mergeLastSeen(slot, lastSeen[s])
            factors.itemChanged(slot)
        }
    }
}
