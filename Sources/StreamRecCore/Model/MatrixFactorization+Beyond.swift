#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

// Beyond plain MF: the event clock, time-decayed popularity, factor decay on touch and the
// sequence-aware (FPMC/Fossil-style) learning path (its step is in +SGDStep). Everything here is off unless its `ModelConfig` field is set.
extension MatrixFactorizationModel {
    // MARK: Event clock and decayed popularity

    /// Advances the model's event clock to `timestamp` (never backwards, so late events can't un-decay).
    /// The first call also fixes the popularity epoch.
    public mutating func advanceClock(to timestamp: Int64) {
        if clock == .min || timestamp > clock { clock = timestamp }
        if popularityEpoch == .min { popularityEpoch = clock }
        guard config.popularityHalfLife > 0 else { return }
        // Keep the inflation factor far from Float overflow: renormalize every 32 half-lives (O(items)).
        let halfLives = Double(clock - popularityEpoch) / Double(config.popularityHalfLife)
        if halfLives > 32 { renormalizePopularity() }
    }

    /// Factor by which a weight observed now is inflated relative to the popularity epoch.
    @inline(__always)
    func popularityGain() -> Float {
        guard config.popularityHalfLife > 0, clock != .min, popularityEpoch != .min else { return 1 }
        return Float(exp2(Double(clock - popularityEpoch) / Double(config.popularityHalfLife)))
    }

    /// Multiply stored popularity by this to get decayed interaction weight at the current clock.
    @inline(__always)
    public var popularityScale: Float { 1 / popularityGain() }

    /// The item's interaction weight, decayed to the current event clock when a popularity half-life is
    /// set (otherwise the plain sum of weights).
    public func popularity(of i: Int32) -> Float { itemPopularity[Int(i)] * popularityScale }

    private mutating func renormalizePopularity() {
        let scale = popularityScale
        for i in itemPopularity.indices { itemPopularity[i] *= scale }
        totalPopularity *= Double(scale)
        popularityEpoch = clock
        popularityLeaders.rebuild(popularity: itemPopularity)
    }

    // MARK: Factor decay (forgetting)

    /// Records that user `u` (last active at `userLastSeen`, nil if new) and item `i` interact at the
    /// current clock. With ``ModelConfig/factorDecayHalfLife`` their factors are first shrunk toward 0 by
    /// `2^(−inactive time / halfLife)`: lazily, on touch, so idle rows cost nothing.
    public mutating func touch(user u: Int32, lastSeen userLastSeen: Int64?, item i: Int32) {
        let now = clock == .min ? 0 : clock
        if config.factorDecayHalfLife > 0 {
            let h = Double(config.factorDecayHalfLife)
            if let last = userLastSeen, now > last {
                Self.shrink(&userFactors, row: Int(u), by: Float(exp2(-Double(now - last) / h)))
            }
            let last = itemLastSeen[Int(i)]
            if now > last {
                Self.shrink(&itemFactors, row: Int(i), by: Float(exp2(-Double(now - last) / h)))
                syncRankingRow(i)
            }
        }
        itemLastSeen[Int(i)] = now
    }

    private static func shrink(_ m: inout FactorMatrix, row: Int, by factor: Float) {
        let s = m.stride
        m.markChanged(row)
        m.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress! + row * s
            VectorKernels.scaleAdd(p, decay: factor, alpha: 0, p, stride: s)
        }
    }

    // MARK: Sequence-aware scoring

    /// Writes the context-aware query `u + mean(context vectors of context)` into `query` (resized to the
    /// row stride; capacity reused). With an empty context the query is just the user's factors.
    public func contextQuery(user u: Int32, context: [Int32], into query: inout [Float]) {
        let s = userFactors.stride
        if query.count != s { query = [Float](repeating: 0, count: s) }
        query.withUnsafeMutableBufferPointer { Q in
            userFactors.withUnsafeBufferPointer { U in
                Q.baseAddress!.update(from: U.baseAddress! + Int(u) * s, count: s)
            }
            guard !context.isEmpty, contextFactors.rows > 0 else { return }
            let inv = 1 / Float(context.count)
            contextFactors.withUnsafeBufferPointer { C in
                for j in context where Int(j) < contextFactors.rows {
                    VectorKernels.scaleAdd(Q.baseAddress!, decay: 1, alpha: inv, C.baseAddress! + Int(j) * s, stride: s)
                }
            }
        }
    }

    /// Score of item `i` for user `u` given recent items `context` (plain ``score(user:item:)`` when empty).
    public func score(user u: Int32, item i: Int32, context: [Int32]) -> Float {
        var q = [Float]()
        contextQuery(user: u, context: context, into: &q)
        let s = userFactors.stride
        return q.withUnsafeBufferPointer { Q in
            itemFactors.withUnsafeBufferPointer { V in
                VectorKernels.dot(Q.baseAddress!, V.baseAddress! + Int(i) * s, stride: s)
            }
        } + (config.useItemBias ? itemBias[Int(i)] : 0)
    }

    mutating func learnWithContext(
        user u: Int32,
        item i: Int32,
        weight: Float,
        context: [Int32],
        isExcluded: (Int32) -> Bool
    ) throws(NonFiniteModelError) {
        switch config.loss {
        case .bpr:
            for _ in 0..<config.negatives {
                guard let j = sampleNegative(positive: i, isExcluded: isExcluded) else { break }
                try contextStep(u, i, negative: j, target: 0, weight, context: context)
            }
        case .isgd:
            try contextStep(u, i, negative: nil, target: 1, weight, context: context)
            for _ in 0..<config.negatives {
                guard let j = sampleNegative(positive: i, isExcluded: isExcluded) else { break }
                try contextStep(u, j, negative: nil, target: 0, weight, context: context)
            }
        }
    }
}
