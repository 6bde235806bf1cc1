/// One learner's side of **asynchronous** item-state sharing through a single ordered log (serve's
/// model-sync topic), sum rule. Pure state, no I/O: serve's `ItemSyncLink` carries its batches over Kafka.
/// The round-based counterpart is ``ItemSyncReplica``.
///
/// The learner keeps a base (its view of the shared rows, ``ItemSyncBase``); `current − base` is always
/// exactly its own not-yet-published learning. ``collect`` publishes that and moves the base to the
/// current row; ``apply`` adds another learner's deltas to both current and base, so local learning in
/// between is kept. Once every batch is applied everywhere and nobody learns, all replicas hold
/// `fixed base + Σ every published delta` for every item (equal up to float summation order).
///
/// New items: the first "new" record of an item **in log order** fixes its base for everybody, the
/// publisher included (which is why a learner reads its own batches back, `own: true`: only to see
/// whether its new record came first). A learner holds back deltas of items it published as new until
/// that read-back or a foreign new record decides the base ("awaiting"), so its base of such an item
/// is still exactly the row it published. A foreign new record of an item not yet fixed here: with a
/// local base (awaiting), `current = theirBase + (current − ourBase)`, base = theirBase (local steps
/// kept); without one (created here since the last collect), current = base = theirBase — our factor
/// steps on it since its creation are dropped (bounded by one sync interval; popularity is kept).
/// Later new records of a fixed item only add their popularity (their factor deltas are 0).
///
/// Exactly once: batches carry a per-publisher sequence; ``apply`` skips any sequence ≤ the last one
/// applied from that publisher, so re-sent batches (after a crash, a lost ack) count once. The state
/// (``encodeState(learner:)``) holds the sequence, those last-applied sequences, the awaiting items and the
/// published-but-unacknowledged batches (``pending``); the base is not stored because a serve learner
/// collects at every snapshot capture (base == current then): after a restore, ``rebase(on:)``.
public struct ItemSyncStream: Sendable {
    /// The last published sequence (0: none yet).
    public internal(set) var sequence: UInt64 = 0
    /// Per publisher (the log record's key): the highest sequence applied.
    public internal(set) var lastApplied: [String: UInt64] = [:]
    /// Collected batches not yet acknowledged by the log, oldest first.
    public internal(set) var pending: [ItemDeltaBatch] = []
    /// The next log position to read (the serve link stores its topic offset here; -1 = none yet).
    public var readPosition: Int64 = -1
    private var base = ItemSyncBase()
    /// Per slot, valid where the base belongs to the slot's id: whether the item's shared base is fixed
    /// (false = we published it as new and neither our record nor a foreign one was read yet).
    private var fixed: [Bool] = []
    private var scratch: [Int32] = []
    /// The last collect skipped changed rows of awaiting items.
    private var heldBack = false
    /// Awaiting item ids read by ``init(decoding:)``, for ``rebase(on:)``.
    var restoredAwaiting: Set<String> = []

    /// Caps of the decoded state and of the publisher table (learners of one group).
    public static let maxPublishers = 65_536
    public static let maxPending = 100_000

    public init() {}

    // MARK: notes (per learned event, inside the learner lock; no allocation once warmed up)

    /// Notes what one learned event changed: the positive (factors move without a bias change when
    /// biases are off), the sequence-context items, and, with neighbour sharing, its co-occurrence pairs.
    /// `weight`: the event's effective weight (pairs are only added for a positive finite one).
    public mutating func noteLearned(
        _ interaction: OnlineLearner.Interaction,
        weight: Float,
        sharePairs: Bool,
        learner: OnlineLearner
    ) {
        let config = learner.config
        base.noteTouched(interaction.itemSlot)
        if sharePairs && config.ranker == .mf && config.neighborWidth > 0 && weight > 0 && weight.isFinite {
            learner.store.recentItems(of: interaction.userSlot, into: &scratch, limit: config.neighborHistory, skip: 1)
            base.notePairs(item: interaction.itemSlot, previous: scratch, learner: learner)
        }
        if config.sequenceContext > 0 {
            learner.store.recentItems(of: interaction.userSlot, into: &scratch, limit: config.sequenceContext, skip: 1)
            for c in scratch { base.noteTouched(c) }
        }
    }

    public mutating func noteEvent() { base.eventsSinceCollect += 1 }

    /// Events learned since the last collect.
    public var eventsSinceCollect: Int64 { base.eventsSinceCollect }

    /// Whether a collect now may publish something: events learned since the last one, or rows the last
    /// one held back (items awaiting their base) that may be fixed by now.
    public var hasUnpublished: Bool { base.eventsSinceCollect > 0 || heldBack }

    // MARK: publish

    private func isAwaiting(_ s: Int) -> Bool { s < fixed.count && !fixed[s] }

    /// This learner's unpublished changes as the next batch (appended to ``pending``), and base := current
    /// for what it carries. nil when nothing changed (the sequence is not used up).
    public mutating func collect(from learner: OnlineLearner) -> ItemDeltaBatch? {
        let awaiting = fixed
        var held = false
        var b = base.collect(
            from: learner,
            publisher: 0,
            sequence: sequence + 1,
            adopt: true,
            skip: { s in
                let skip = s < awaiting.count && !awaiting[s]
                if skip { held = true }
                return skip
            }
        )
        heldBack = held
        guard !b.isEmpty else {
            base.eventsSinceCollect += b.events
            return nil
        }
        sequence += 1
        b.sequence = sequence
        growFixed(to: learner.items.slotCount)
        for r in b.newRows {
            if let slot = learner.items.index(of: b.ids[Int(r)]) { fixed[Int(slot)] = false }
        }
        pending.append(b)
        return b
    }

    /// ``collect(from:)``, split into batches whose encodings fit `maxRecordBytes` (one record each on the
    /// sync topic), each with its own sequence number. Returns how many batches were added to ``pending``.
    @discardableResult
    public mutating func collect(from learner: OnlineLearner, maxRecordBytes: Int) -> Int {
        guard let whole = collect(from: learner) else { return 0 }
        let pieces = whole.split(maxEncodedBytes: maxRecordBytes)
        guard pieces.count > 1 else { return 1 }
        pending.removeLast()
        sequence -= 1
        for var piece in pieces {
            sequence += 1
            piece.sequence = sequence
            pending.append(piece)
        }
        return pieces.count
    }

    /// The log acknowledged every batch up to `sequence`.
    public mutating func acknowledge(through sequence: UInt64) {
        pending.removeAll { $0.sequence <= sequence }
    }

    // MARK: apply

    public struct ShapeMismatch: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Applies one batch read from the log, in log order. `own`: published by this learner (then only
    /// its new records count, to fix those items' bases). Returns false when it was a duplicate.
    @discardableResult
    public mutating func apply(
        _ batch: ItemDeltaBatch,
        publisherID: String,
        own: Bool,
        to learner: inout OnlineLearner
    ) throws(ShapeMismatch) -> Bool {
        let k = learner.config.factors
        let ctx = learner.config.sequenceContext > 0
        guard batch.dimension == k, batch.hasContext == ctx else {
            throw ShapeMismatch(
                description:
                    "sync batch of \(publisherID) has dimension \(batch.dimension), context \(batch.hasContext); "
                    + "this model has \(k), \(ctx): every learner of a group needs the same model settings"
            )
        }
        if let last = lastApplied[publisherID], batch.sequence <= last { return false }
        guard lastApplied[publisherID] != nil || lastApplied.count < Self.maxPublishers else {
            throw ShapeMismatch(description: "more than \(Self.maxPublishers) publishers on the sync log")
        }
        lastApplied[publisherID] = batch.sequence
        if own {
            acknowledge(through: batch.sequence)
            for r in batch.newRows {
                let id = batch.ids[Int(r)]
                if let slot = learner.items.index(of: id), base.hasBase(Int(slot), id: id), Int(slot) < fixed.count {
                    fixed[Int(slot)] = true
                }
            }
            return true
        }
        learner.model.blend.setWeights(
            neighbor: max(0, learner.model.neighborBlend + batch.neighborBlendDelta),
            popularity: max(0, learner.model.popularityBlend + batch.popularityBlendDelta)
        )
        base.neighborBlend += batch.neighborBlendDelta
        base.popularityBlend += batch.popularityBlendDelta
        let gain = learner.model.statistics.popularityGain()
        for (r, newRow) in batch.rows {
            let id = batch.ids[r]
            guard let slot = learner.internForSync(id) else { continue }
            let s = Int(slot)
            base.grow(to: s + 1, k: k)
            growFixed(to: s + 1)
            let hadBase = base.hasBase(s, id: id)
            let stride = learner.model.itemFactors.stride
            // Raw writes: mark the rows so incremental snapshot capture (FactorShadows) copies them.
            learner.model.factors.items.markChanged(s)
            if ctx { learner.model.factors.context.markChanged(s) }
            if let newIndex = newRow, !(hadBase && fixed[s]) {
                // The first new record in log order: its row becomes the shared base.
                learner.model.factors.items.withUnsafeMutableBufferPointer { V in
                    for c in 0..<k {
                        let theirs = batch.baseFactors[newIndex * k + c]
                        V[s * stride + c] = hadBase ? theirs + (V[s * stride + c] - base.factors[s * k + c]) : theirs
                        base.factors[s * k + c] = theirs
                    }
                }
                if ctx {
                    learner.model.factors.context.withUnsafeMutableBufferPointer { C in
                        for c in 0..<k {
                            let theirs = batch.baseContext[newIndex * k + c]
                            C[s * stride + c] =
                                hadBase ? theirs + (C[s * stride + c] - base.context[s * k + c]) : theirs
                            base.context[s * k + c] = theirs
                        }
                    }
                }
                let theirs = batch.baseBias[newIndex]
                learner.model.factors.itemBias[s] =
                    hadBase ? theirs + (learner.model.factors.itemBias[s] - base.bias[s]) : theirs
                base.bias[s] = theirs
                if !hadBase { base.popularity[s] = 0 }  // all local popularity is still unpublished
            } else {
                if !hadBase {
                    // A delta for an item this learner has no base of (evicted here, or created here and not
                    // yet published): its current row stands in for the base.
                    base.adoptRow(slot, of: learner)
                    base.popularity[s] = 0
                }
                learner.model.factors.items.withUnsafeMutableBufferPointer { V in
                    for c in 0..<k {
                        let d = batch.factorDeltas[r * k + c]
                        V[s * stride + c] += d
                        base.factors[s * k + c] += d
                    }
                }
                if ctx {
                    learner.model.factors.context.withUnsafeMutableBufferPointer { C in
                        for c in 0..<k {
                            let d = batch.contextDeltas[r * k + c]
                            C[s * stride + c] += d
                            base.context[s * k + c] += d
                        }
                    }
                }
                learner.model.factors.itemBias[s] += batch.biasDeltas[r]
                base.bias[s] += batch.biasDeltas[r]
            }
            base.ids[s] = id
            fixed[s] = true
            let added = batch.popularityDeltas[r] * gain
            base.popularity[s] += added
            learner.model.statistics.setSyncedPopularity(slot, learner.model.statistics.popularity[s] + added)
            learner.model.statistics.mergeLastSeen(slot, batch.lastSeen[r])
            learner.model.factors.itemChanged(slot)
        }
        if !batch.pairOps.isEmpty { base.replayPairs(batch, into: &learner) }
        return true
    }

    // MARK: restore

    /// After a restore (the learner as captured with this state): base := current for every item, the
    /// awaiting items (``encodeState(learner:)`` kept them) not yet fixed, every other item fixed.
    public mutating func rebase(on learner: OnlineLearner) {
        let awaiting = restoredAwaiting
        restoredAwaiting = []
        base = ItemSyncBase()
        fixed = []
        base.neighborBlend = learner.model.neighborBlend
        base.popularityBlend = learner.model.popularityBlend
        growFixed(to: learner.items.slotCount)
        for s in 0..<learner.items.slotCount {
            guard let id = learner.items.id(at: Int32(s)) else { continue }
            base.adoptRow(Int32(s), of: learner)
            fixed[s] = !awaiting.contains(id)
        }
    }

    /// Ids of the items published as new whose base is not fixed yet (kept in the encoded state).
    func awaitingIDs(in learner: OnlineLearner) -> [String] {
        var out: [String] = []
        for s in fixed.indices where !fixed[s] {
            if let id = learner.items.id(at: Int32(s)), base.hasBase(s, id: id) { out.append(id) }
        }
        return out
    }

    private mutating func growFixed(to n: Int) {
        if fixed.count < n { fixed.append(contentsOf: repeatElement(true, count: n - fixed.count)) }
    }
}
