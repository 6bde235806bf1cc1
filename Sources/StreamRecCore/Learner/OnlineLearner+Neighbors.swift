#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

// The item-neighbour blend: an incremental item–item co-occurrence scorer and recent popularity added
// to MF scores, `mf + a · neighbours + b · log(1 + recent count)`, with a and b learned online by a
// pairwise logistic step on scores computed *before* the event is learned (the prequential signal), so
// the mix follows the log instead of being fixed per log. Off when `neighborWidth == 0`.
extension OnlineLearner {
    /// Negatives per event for the blend step, drawn from the recent-positives ring (by popularity:
    /// the items a top-K list has to beat). Choosing the *hardest* of 16 sampled candidates instead
    /// drove the neighbour weight to 0 and lost the blend's gain (docs/quality.md).
    static let blendNegatives = 4

    /// Learning side, called for every positive event of the MF ranker *before* the event's
    /// popularity and SGD updates: one blend step, then the event's pairs enter the co-occurrence table.
    mutating func learnNeighbors(user u: Int32, item i: Int32) {
        guard config.neighborWidth > 0 else { return }
        var context: [Int32] = []
        swap(&context, &neighborScratch)
        defer { swap(&context, &neighborScratch) }
        if config.blendLearningRate > 0 && config.neighborContext > 0 && !model.statistics.recentPositives.isEmpty {
            store.recentItems(of: u, into: &context, limit: config.neighborContext, skip: 1)
            if !context.isEmpty { blendStep(user: u, item: i, context: context) }
        }
        store.recentItems(of: u, into: &context, limit: config.neighborHistory, skip: 1)
        var w: Float = 1
        for x in context where x != i {
            model.blend.neighbors.add(x, i, w)
            model.blend.neighbors.add(i, x, w)
            w *= config.neighborDecay
        }
        model.blend.neighbors.countOccurrence(i)
    }

    /// One pairwise logistic step on the blend weights against popularity-drawn negatives.
    private mutating func blendStep(user u: Int32, item i: Int32, context: [Int32]) {
        var mfContext: [Int32] = []
        var query: [Float] = []
        swap(&mfContext, &contextScratch)
        swap(&query, &queryScratch)
        defer {
            swap(&mfContext, &contextScratch)
            swap(&query, &queryScratch)
        }
        if config.sequenceContext > 0 {
            store.recentItems(of: u, into: &mfContext, limit: config.sequenceContext, skip: 1)
        } else {
            mfContext.removeAll(keepingCapacity: true)
        }
        model.contextQuery(user: u, context: mfContext, into: &query)
        var a = model.blend.neighborWeight
        var b = model.blend.popularityWeight
        let positive = (
            mf: model.score(query: query, item: i), nb: neighborScore(of: i, context: context),
            pop: model.statistics.windowLog[Int(i)]
        )
        let lr = config.blendLearningRate
        for _ in 0..<Self.blendNegatives {
            let j = model.statistics.recentPositives[model.rng.nextInt(below: model.statistics.recentPositives.count)]
            guard j != i, !store.hasSeen(user: u, item: j), items.isLive(j) else { continue }
            let dn = positive.nb - neighborScore(of: j, context: context)
            let dp = positive.pop - model.statistics.windowLog[Int(j)]
            let x = positive.mf - model.score(query: query, item: j) + a * dn + b * dp
            guard x.isFinite else { continue }
            let g = 1 / (1 + expf(x))
            a = max(0, a + lr * g * dn)
            b = max(0, b + lr * g * dp)
        }
        if a.isFinite && b.isFinite {
            model.blend.setWeights(neighbor: a, popularity: b)
        }
    }

    /// `Σ decay^c · similarity(context[c], j)` summed in context order: the same float value as scattering
    /// every context item's whole neighbour list into a dense array and reading slot `j`, which the blend
    /// step did before for the five items it needs (5 × 128 scattered writes, then as many to clear them).
    @inline(__always)
    private func neighborScore(of j: Int32, context: [Int32]) -> Float {
        var sum: Float = 0
        var decay: Float = 1
        for x in context {
            if let s = model.blend.neighbors.similarityIfListed(x, j) { sum += decay * s }
            decay *= config.neighborDecay
        }
        return sum
    }
}
