#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

// Beyond plain MF: the event clock, time-decayed popularity, factor decay on touch and the
// sequence-aware (FPMC/Fossil-style) SGD step. Everything here is off unless its `ModelConfig` field is set.
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
            userFactors.withUnsafeBufferPointer { U in Q.baseAddress!.update(from: U.baseAddress! + Int(u) * s, count: s) }
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
            itemFactors.withUnsafeBufferPointer { V in VectorKernels.dot(Q.baseAddress!, V.baseAddress! + Int(i) * s, stride: s) }
        } + (config.useItemBias ? itemBias[Int(i)] : 0)
    }

    mutating func learnWithContext(
        user u: Int32, item i: Int32, weight: Float, context: [Int32], isExcluded: (Int32) -> Bool
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

    /// One SGD step on the query `q = u + mean_l c_l`: BPR on (i, negative) when `negative` is given,
    /// else squared error of `q·v_i + b_i` towards `target`. The user-side gradient `d` goes to `u` in
    /// full and to each context vector scaled by 1/L; the item side moves along `q`. Non-finite results
    /// are rolled back, as in the plain steps.
    mutating func contextStep(
        _ u: Int32, _ i: Int32, negative j: Int32?, target: Float, _ w: Float, context: [Int32]
    ) throws(NonFiniteModelError) {
        let s = userFactors.stride
        let lr = config.learningRate, reg = config.regularization
        let useBias = config.useItemBias
        let biasI = itemBias[Int(i)], biasJ = j.map { itemBias[Int($0)] } ?? 0
        let count = min(context.count, config.sequenceContext)
        let invL = 1 / Float(count)
        var failure: NonFiniteModelError?
        var g: Float = 0
        userFactors.withUnsafeMutableBufferPointer { U in
            itemFactors.withUnsafeMutableBufferPointer { V in
                contextFactors.withUnsafeMutableBufferPointer { C in
                    scratch.withUnsafeMutableBufferPointer { S in
                        let pu = U.baseAddress! + Int(u) * s
                        let pi = V.baseAddress! + Int(i) * s
                        let pj = j.map { V.baseAddress! + Int($0) * s }
                        let su = S.baseAddress!, si = su + s, sj = si + s, d = sj + s, q = d + s, sc = q + s
                        // q = u + mean context vectors (pre-update values throughout).
                        q.update(from: pu, count: s)
                        for l in 0..<count {
                            let pc = C.baseAddress! + Int(context[l]) * s
                            (sc + l * s).update(from: pc, count: s)
                            VectorKernels.scaleAdd(q, decay: 1, alpha: invL, pc, stride: s)
                        }
                        su.update(from: pu, count: s)
                        si.update(from: pi, count: s)
                        var x = VectorKernels.dot(q, pi, stride: s) + (useBias ? biasI : 0)
                        d.update(from: si, count: s)
                        if let pj {
                            sj.update(from: pj, count: s)
                            x -= VectorKernels.dot(q, pj, stride: s) + (useBias ? biasJ : 0)
                            VectorKernels.scaleAdd(d, decay: 1, alpha: -1, sj, stride: s)
                        }
                        guard x.isFinite else {
                            failure = NonFiniteModelError(userIndex: u, itemIndex: i, score: x)
                            return
                        }
                        // BPR: dσ(x) = σ(−x); pointwise: error towards the target.
                        g = pj != nil ? w / (1 + expf(x)) : w * (target - x)
                        let decay = 1 - lr * reg
                        VectorKernels.scaleAdd(pu, decay: decay, alpha: lr * g, d, stride: s)
                        for l in 0..<count {
                            let pc = C.baseAddress! + Int(context[l]) * s
                            VectorKernels.scaleAdd(pc, decay: decay, alpha: lr * g * invL, d, stride: s)
                        }
                        VectorKernels.scaleAdd(pi, decay: decay, alpha: lr * g, q, stride: s)
                        if let pj { VectorKernels.scaleAdd(pj, decay: decay, alpha: -lr * g, q, stride: s) }
                        var finite = VectorKernels.allFinite(pu, stride: s) && VectorKernels.allFinite(pi, stride: s)
                            && (pj.map { VectorKernels.allFinite($0, stride: s) } ?? true)
                        for l in 0..<count where finite {
                            finite = VectorKernels.allFinite(C.baseAddress! + Int(context[l]) * s, stride: s)
                        }
                        if !finite {
                            pu.update(from: su, count: s)
                            pi.update(from: si, count: s)
                            if let pj { pj.update(from: sj, count: s) }
                            // Reverse order restores the original when an item repeats in the context.
                            for l in stride(from: count - 1, through: 0, by: -1) {
                                (C.baseAddress! + Int(context[l]) * s).update(from: sc + l * s, count: s)
                            }
                            failure = NonFiniteModelError(userIndex: u, itemIndex: i, score: x)
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
        if useBias {
            let newI: Float = biasI + lr * (g - reg * biasI)
            itemBias[Int(i)] = newI
            if let j {
                let newJ: Float = biasJ + lr * (-g - reg * biasJ)
                itemBias[Int(j)] = newJ
            }
        }
        syncRankingRow(i)
        if let j { syncRankingRow(j) }
    }
}
