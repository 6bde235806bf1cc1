#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Sampled AUC of one scored event: the event's item against `samples` items drawn uniformly (with
/// replacement) from the live items the user hasn't consumed, AUC = (#sampled items scored below the
/// event's item + ½ #ties) / #drawn. It measures the ranking *scores* (MF + the scoring extras, or the
/// popularity / random ranker), i.e. before MMR re-ranking and ε-greedy, which reorder lists but don't score.
///
/// Draws come from an RNG of its own, seeded once and carried in replay snapshots, so measuring AUC never
/// touches the model's RNG and a resumed replay draws the same samples.
public struct SampledAUC: Sendable, Equatable, Codable {
    public let samples: Int
    private var state: [UInt64]
    /// Scratch (not state): sampled slots, their scores and the scoring query.
    private var scratch = Scratch()

    public init(samples: Int, seed: UInt64) {
        self.samples = max(0, samples)
        let s = RandomSource(seed: seed ^ 0xA0C5_A3D1_E5C0_FFEE).state
        state = [s.0, s.1, s.2, s.3]
    }

    private enum CodingKeys: String, CodingKey { case samples, state }

    struct Scratch: Sendable, Equatable {
        var slots: [Int32] = []
        var scores: [Float] = []
        var query: [Float] = []
        var recent: [Int32] = []
        static func == (_: Scratch, _: Scratch) -> Bool { true }
    }

    /// AUC for `target` (an item slot the model knows) given `userSlot` (nil = unknown user); nil when
    /// AUC is off or no unconsumed item could be drawn (e.g. the user consumed the whole catalog).
    public mutating func measure(learner: OnlineLearner, userSlot: Int32?, target: Int32) -> Double? {
        guard samples > 0, learner.items.isLive(target) else { return nil }
        var rng = RandomSource(state: (state[0], state[1], state[2], state[3])) ?? RandomSource(seed: 1)
        defer {
            let s = rng.state
            state = [s.0, s.1, s.2, s.3]
        }
        let user = userSlot.flatMap { learner.users.isLive($0) ? $0 : nil }
        let n = learner.model.itemCount
        scratch.slots.removeAll(keepingCapacity: true)
        scratch.slots.append(target)
        // Rejection sampling with a bounded number of tries per sample, so the draw count is bounded and
        // reproducible even when few items qualify.
        for _ in 0..<samples {
            for _ in 0..<16 {
                let j = Int32(rng.nextInt(below: n))
                guard j != target, learner.items.isLive(j),
                    !(user.map { learner.store.hasSeen(user: $0, item: j) } ?? false)
                else { continue }
                scratch.slots.append(j)
                break
            }
        }
        guard scratch.slots.count > 1 else { return nil }
        learner.rankingScores(
            userSlot: user,
            items: scratch.slots,
            query: &scratch.query,
            recent: &scratch.recent,
            into: &scratch.scores
        )
        let t = scratch.scores[0]
        var below = 0.0
        for s in scratch.scores.dropFirst() { below += s < t ? 1 : (s == t ? 0.5 : 0) }
        return below / Double(scratch.scores.count - 1)
    }
}

extension OnlineLearner {
    /// The score `recommend` ranks `items` by for a live `userSlot` (nil = the unknown-user popularity
    /// fallback): MF dot product + bias + sequence context + uncertainty bonus + cold-start blend, the
    /// popularity weight, or the random ranker's per-(user, event count) draw. Writes `scores[i]` for
    /// `items[i]`; `query` and `recent` are reusable scratch.
    public func rankingScores(
        userSlot: Int32?,
        items list: [Int32],
        query: inout [Float],
        recent: inout [Int32],
        into scores: inout [Float]
    ) {
        scores.removeAll(keepingCapacity: true)
        guard let u = userSlot else {
            let recentPopularity = config.coldStartUserEvents > 0
            for i in list {
                scores.append(recentPopularity ? Float(model.windowCounts[Int(i)]) : model.itemPopularity[Int(i)])
            }
            return
        }
        switch config.ranker {
        case .popularity:
            for i in list { scores.append(model.itemPopularity[Int(i)]) }
        case .random:
            // The same stream `recommend` draws: item i gets the i-th draw.
            var rng = RandomSource(seed: config.seed ^ (UInt64(u) << 32) ^ UInt64(counters.events))
            let top = Int(list.max() ?? 0)
            var drawn = [Float](repeating: 0, count: top + 1)
            for i in 0...top { drawn[i] = rng.nextUnitFloat() }
            for i in list { scores.append(drawn[Int(i)]) }
        case .mf:
            if config.sequenceContext > 0 {
                store.recentItems(of: u, into: &recent, limit: config.sequenceContext)
            } else {
                recent.removeAll(keepingCapacity: true)
            }
            model.contextQuery(user: u, context: recent, into: &query)
            let s = model.itemFactors.stride
            let beta = config.uncertaintyBonus
            let scale = model.popularityScale
            let cold = coldStartWeight(user: u)
            query.withUnsafeBufferPointer { Q in
                model.itemFactors.withUnsafeBufferPointer { V in
                    for i in list {
                        var x = VectorKernels.dot(Q.baseAddress!, V.baseAddress! + Int(i) * s, stride: s)
                        if config.useItemBias { x += model.itemBias[Int(i)] }
                        if beta > 0 { x += beta / (1 + model.itemPopularity[Int(i)] * scale).squareRoot() }
                        if cold > 0 { x += cold * log1pf(Float(model.windowCounts[Int(i)])) }
                        scores.append(x)
                    }
                }
            }
        }
    }
}
