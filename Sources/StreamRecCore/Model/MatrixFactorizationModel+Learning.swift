#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

// The learning path: negative sampling and the SGD steps. The three steps (plain BPR, plain pointwise,
// sequence-context) share one frame: row pointers, pre-step copies, the finite check with rollback, the
// bias update and the ranking-row refresh; each supplies only its score and its vector updates.

/// The rows one SGD step reads and writes, with their pre-step copies (the gradients use pre-update
/// values, and a non-finite result restores them).
struct SGDStepRows {
    let stride: Int
    let user: UnsafeMutablePointer<Float>
    let item: UnsafeMutablePointer<Float>
    let negative: UnsafeMutablePointer<Float>?
    let savedUser: UnsafeMutablePointer<Float>
    let savedItem: UnsafeMutablePointer<Float>
    let savedNegative: UnsafeMutablePointer<Float>
    /// Context vector storage (row `c` at `contextBase + c * stride`); nil when the step has no context.
    let contextBase: UnsafeMutablePointer<Float>?
    /// Scratch rows free for the step's own use (two rows).
    let work: UnsafeMutablePointer<Float>

    @inline(__always)
    func context(_ slot: Int32) -> UnsafeMutablePointer<Float> { contextBase! + Int(slot) * stride }
}

extension MatrixFactorizationModel {
    /// Draws a negative item slot for `user`, avoiding the positive and (a bounded number of tries)
    /// items the user has consumed or dead slots.
    @inline(__always)
    mutating func sampleNegative(
        positive: Int32,
        isExcluded: (Int32) -> Bool
    ) -> Int32? {
        let n = factors.items.rows
        guard n > 1 else { return nil }
        for _ in 0..<4 {
            let j: Int32
            switch config.negativeSampling {
            case .uniform:
                j = Int32(rng.nextInt(below: n))
            case .popularity:
                j =
                    statistics.recentPositives.isEmpty
                    ? Int32(rng.nextInt(below: n))
                    : statistics.recentPositives[rng.nextInt(below: statistics.recentPositives.count)]
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

    /// Sequence-aware learning: each step trains `(u + mean context vectors) · v`.
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

    /// Runs one step: `score` (pre-update rows) → non-finite check → copies → `update` returns the
    /// gradient scale g → finite check of every written row (rollback on failure) → item biases
    /// `b_i += lr (g − reg b_i)`, `b_j += lr (−g − reg b_j)` → ranking rows refreshed.
    /// Scratch layout: saved u, i, j, then the `contextCount` saved context rows, then two work rows.
    @inline(__always)
    mutating func sgdStep(
        _ u: Int32,
        _ i: Int32,
        negative j: Int32?,
        context: [Int32],
        contextCount count: Int,
        score: (SGDStepRows) -> Float,
        update: (SGDStepRows, _ score: Float) -> Float
    ) throws(NonFiniteModelError) {
        let s = factors.users.stride
        let lr = config.learningRate
        let reg = config.regularization
        let biasI = factors.itemBias[Int(i)]
        let biasJ = j.map { factors.itemBias[Int($0)] } ?? 0
        var failure: NonFiniteModelError?
        var g: Float = 0
        factors.users.withUnsafeMutableBufferPointer { U in
            factors.items.withUnsafeMutableBufferPointer { V in
                scratch.withUnsafeMutableBufferPointer { S in
                    // Context storage is accessed only by steps that have context rows.
                    func run(_ C: UnsafeMutablePointer<Float>?) {
                        let su = S.baseAddress!
                        let si = su + s
                        let sj = si + s
                        let sc = sj + s
                        let rows = SGDStepRows(
                            stride: s,
                            user: U.baseAddress! + Int(u) * s,
                            item: V.baseAddress! + Int(i) * s,
                            negative: j.map { V.baseAddress! + Int($0) * s },
                            savedUser: su,
                            savedItem: si,
                            savedNegative: sj,
                            contextBase: C,
                            work: sc + count * s
                        )
                        let x = score(rows)
                        guard x.isFinite else {
                            failure = NonFiniteModelError(userIndex: u, itemIndex: i, score: x)
                            return
                        }
                        su.update(from: rows.user, count: s)
                        si.update(from: rows.item, count: s)
                        if let pj = rows.negative { sj.update(from: pj, count: s) }
                        for l in 0..<count { (sc + l * s).update(from: rows.context(context[l]), count: s) }
                        g = update(rows, x)
                        var finite =
                            VectorKernels.allFinite(rows.user, stride: s)
                            && VectorKernels.allFinite(rows.item, stride: s)
                            && (rows.negative.map { VectorKernels.allFinite($0, stride: s) } ?? true)
                        for l in 0..<count where finite {
                            finite = VectorKernels.allFinite(rows.context(context[l]), stride: s)
                        }
                        if !finite {
                            rows.user.update(from: su, count: s)
                            rows.item.update(from: si, count: s)
                            if let pj = rows.negative { pj.update(from: sj, count: s) }
                            // Reverse order restores the original when an item repeats in the context.
                            for l in stride(from: count - 1, through: 0, by: -1) {
                                rows.context(context[l]).update(from: sc + l * s, count: s)
                            }
                            failure = NonFiniteModelError(userIndex: u, itemIndex: i, score: x)
                        }
                    }
                    if count > 0 {
                        factors.context.withUnsafeMutableBufferPointer { C in run(C.baseAddress) }
                    } else {
                        run(nil)
                    }
                }
            }
        }
        // Written rows, for incremental snapshots (a rolled-back row is marked too: harmless).
        factors.users.markChanged(Int(u))
        factors.items.markChanged(Int(i))
        if let j { factors.items.markChanged(Int(j)) }
        for l in 0..<count { factors.context.markChanged(Int(context[l])) }
        if let failure { throw failure }
        if config.useItemBias {
            let newI: Float = biasI + lr * (g - reg * biasI)
            factors.itemBias[Int(i)] = newI
            if let j {
                let newJ: Float = biasJ + lr * (-g - reg * biasJ)
                factors.itemBias[Int(j)] = newJ
            }
        }
        factors.itemChanged(i)
        if let j { factors.itemChanged(j) }
    }

    /// BPR: maximize log σ(x_ui − x_uj).
    @inline(__always)
    mutating func bprStep(_ u: Int32, _ i: Int32, _ j: Int32, _ w: Float) throws(NonFiniteModelError) {
        let lr = config.learningRate
        let decay = 1 - config.learningRate * config.regularization
        let bias: Float = config.useItemBias ? factors.itemBias[Int(i)] - factors.itemBias[Int(j)] : 0
        try sgdStep(
            u,
            i,
            negative: j,
            context: [],
            contextCount: 0,
            score: { r in
                VectorKernels.dot(r.user, r.item, stride: r.stride)
                    - VectorKernels.dot(r.user, r.negative!, stride: r.stride)
                    + bias
            },
            update: { r, x in
                // dσ: gradient of log σ(x) is σ(−x) = 1 / (1 + e^x).
                let g = w / (1 + expf(x))
                // u ← u + lr (g (v_i − v_j) − reg u), using the pre-update item vectors.
                VectorKernels.scaleAdd(r.user, decay: decay, alpha: lr * g, r.savedItem, stride: r.stride)
                VectorKernels.scaleAdd(r.user, decay: 1, alpha: -lr * g, r.savedNegative, stride: r.stride)
                VectorKernels.scaleAdd(r.item, decay: decay, alpha: lr * g, r.savedUser, stride: r.stride)
                VectorKernels.scaleAdd(r.negative!, decay: decay, alpha: -lr * g, r.savedUser, stride: r.stride)
                return g
            }
        )
    }

    /// Pointwise squared error towards `target` (ISGD uses 1 for positives, 0 for sampled negatives).
    @inline(__always)
    mutating func pointwiseStep(_ u: Int32, _ i: Int32, target: Float, _ w: Float) throws(NonFiniteModelError) {
        let lr = config.learningRate
        let decay = 1 - config.learningRate * config.regularization
        let bias: Float = config.useItemBias ? factors.itemBias[Int(i)] : 0
        try sgdStep(
            u,
            i,
            negative: nil,
            context: [],
            contextCount: 0,
            score: { r in
                VectorKernels.dot(r.user, r.item, stride: r.stride) + bias
            },
            update: { r, x in
                let err = w * (target - x)
                VectorKernels.scaleAdd(r.user, decay: decay, alpha: lr * err, r.savedItem, stride: r.stride)
                VectorKernels.scaleAdd(r.item, decay: decay, alpha: lr * err, r.savedUser, stride: r.stride)
                return err
            }
        )
    }

    /// One SGD step on the query `q = u + mean_l c_l`: BPR on (i, negative) when `negative` is given,
    /// else squared error of `q·v_i + b_i` towards `target`. The user-side gradient `d` goes to `u` in
    /// full and to each context vector scaled by 1/L; the item side moves along `q`. Non-finite results
    /// are rolled back, as in the plain steps.
    @inline(__always)
    mutating func contextStep(
        _ u: Int32,
        _ i: Int32,
        negative j: Int32?,
        target: Float,
        _ w: Float,
        context: [Int32]
    ) throws(NonFiniteModelError) {
        let lr = config.learningRate
        let decay = 1 - config.learningRate * config.regularization
        let useBias = config.useItemBias
        let biasI = factors.itemBias[Int(i)]
        let biasJ = j.map { factors.itemBias[Int($0)] } ?? 0
        let count = min(context.count, config.sequenceContext)
        let invL = 1 / Float(count)
        try sgdStep(
            u,
            i,
            negative: j,
            context: context,
            contextCount: count,
            score: { r in
                let s = r.stride
                let d = r.work
                let q = d + s
                // q = u + mean context vectors (pre-update values throughout).
                q.update(from: r.user, count: s)
                for l in 0..<count {
                    VectorKernels.scaleAdd(q, decay: 1, alpha: invL, r.context(context[l]), stride: s)
                }
                var x = VectorKernels.dot(q, r.item, stride: s) + (useBias ? biasI : 0)
                d.update(from: r.item, count: s)
                if let pj = r.negative {
                    x -= VectorKernels.dot(q, pj, stride: s) + (useBias ? biasJ : 0)
                    VectorKernels.scaleAdd(d, decay: 1, alpha: -1, pj, stride: s)
                }
                return x
            },
            update: { r, x in
                let s = r.stride
                let d = r.work
                let q = d + s
                // BPR: dσ(x) = σ(−x); pointwise: error towards the target.
                let g = r.negative != nil ? w / (1 + expf(x)) : w * (target - x)
                VectorKernels.scaleAdd(r.user, decay: decay, alpha: lr * g, d, stride: s)
                for l in 0..<count {
                    VectorKernels.scaleAdd(r.context(context[l]), decay: decay, alpha: lr * g * invL, d, stride: s)
                }
                VectorKernels.scaleAdd(r.item, decay: decay, alpha: lr * g, q, stride: s)
                if let pj = r.negative { VectorKernels.scaleAdd(pj, decay: decay, alpha: -lr * g, q, stride: s) }
                return g
            }
        )
    }
}
