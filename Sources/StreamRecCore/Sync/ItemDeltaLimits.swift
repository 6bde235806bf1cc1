/// Bounds a model-sync batch must respect before it may touch the model: sync records are written by
/// other processes (or anyone with write access to the topic), so a batch is checked whole and refused
/// whole — never half applied.
public struct ItemDeltaLimits: Sendable, Equatable {
    /// Largest magnitude of a factor, context or bias delta, of a new item's initial row value and of a
    /// blend-weight delta. Healthy rows stay within a few units: one SGD step moves a value by
    /// `learning rate × |gradient scale| × |other row|` (≤ about 1 with the defaults) and regularisation
    /// pulls back, so even a long sync interval of steps on one popular item stays orders of magnitude
    /// below this; values near float's range (what broke ranking) are far above it.
    public var maxAbsValue: Float = 1000
    /// Largest popularity delta of one row (decayed interaction weight added in one interval).
    public var maxPopularityDelta: Float = 1e9
    /// Largest event count one batch may claim.
    public var maxEvents: Int64 = 1 << 40
    /// How far a publisher's sequence may advance past the last one applied from it. Batches are
    /// numbered consecutively (a split batch takes several numbers), so a real publisher advances by 1;
    /// a forged huge sequence would make every later real batch of it look like a duplicate.
    public var maxSequenceStep: UInt64 = 1000

    public init() {}
}

extension ItemDeltaBatch {
    /// Nil when every value is finite and within `limits`, else why not (one pass over the values).
    public func violation(of limits: ItemDeltaLimits) -> SyncRejection? {
        let n = count
        let k = dimension
        let shapes = [
            factorDeltas.count == n * k, contextDeltas.count == (hasContext ? n * k : 0), biasDeltas.count == n,
            popularityDeltas.count == n, lastSeen.count == n, baseFactors.count == newRows.count * k,
            baseContext.count == (hasContext ? newRows.count * k : 0), baseBias.count == newRows.count,
        ]
        guard shapes.allSatisfy({ $0 }) else { return .undecodable }
        guard neighborBlendDelta.isFinite, popularityBlendDelta.isFinite else { return .nonFinite }
        var worst: Float = max(abs(neighborBlendDelta), abs(popularityBlendDelta))
        for column in [factorDeltas, contextDeltas, biasDeltas, baseFactors, baseContext, baseBias] {
            for v in column {
                guard v.isFinite else { return .nonFinite }
                worst = max(worst, abs(v))
            }
        }
        guard worst <= limits.maxAbsValue else { return .outOfBounds }
        for p in popularityDeltas {
            guard p.isFinite else { return .nonFinite }
            guard abs(p) <= limits.maxPopularityDelta else { return .outOfBounds }
        }
        guard (0...limits.maxEvents).contains(events) else { return .outOfBounds }
        let pairCount = UInt32(pairIds.count)
        var i = 0
        while i < pairOps.count {
            // [item, n, previous₁ … previousₙ]: every index within pairIds, n within what is left.
            guard i + 1 < pairOps.count, pairOps[i] < pairCount, Int(pairOps[i + 1]) <= pairOps.count - i - 2 else {
                return .outOfBounds
            }
            let m = Int(pairOps[i + 1])
            for j in 0..<m where pairOps[i + 2 + j] >= pairCount { return .outOfBounds }
            i += 2 + m
        }
        return nil
    }
}
