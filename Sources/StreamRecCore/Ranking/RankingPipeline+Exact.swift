#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

// The exact strategy: every item block scored against the query.
extension RankingPipeline {
    mutating func rankExactly(user u: Int32, cold: Float, model: MatrixFactorizationModel, items: IdDictionary) {
        let config = model.config
        if config.uncertaintyBonus > 0 || config.sequenceContext > 0 || config.neighborWidth > 0 || cold > 0 {
            rankWithExtras(user: u, cold: cold, model: model, items: items)
        } else {
            rankPlain(user: u, model: model, items: items)
        }
    }

    /// Plain MF: the user's factor row is the query.
    private mutating func rankPlain(user u: Int32, model: MatrixFactorizationModel, items: IdDictionary) {
        let n = model.itemCount
        model.factors.users.withUnsafeBufferPointer { U in
            let pu = U.baseAddress! + Int(u) * model.factors.users.stride
            model.factors.rankingItems.scoreBlocks(user: pu) { first, scores in
                selector.offerBlock(first: first, scores: scores, itemCount: n, items: items)
            }
        }
    }

    /// MF with the scoring extras: the sequence-context query, the uncertainty bonus
    /// β / sqrt(1 + n_item), the cold-start term w_u · log(1 + recent count) and the learned
    /// item-neighbour blend a · neighbours + b · log(1 + recent count).
    private mutating func rankWithExtras(
        user u: Int32,
        cold: Float,
        model: MatrixFactorizationModel,
        items: IdDictionary
    ) {
        prepareInputs(user: u, model: model)
        defer { clearNeighborScores(model: model) }
        let config = model.config
        let blend = config.neighborWidth > 0
        let popularityBlend = model.blend.popularityWeight
        let n = model.itemCount
        let beta = config.uncertaintyBonus
        let scale = model.statistics.popularityScale
        let hasBonus = beta > 0 || cold > 0
        model.statistics.popularity.withUnsafeBufferPointer { P in
            model.statistics.windowCounts.withUnsafeBufferPointer { W in
                model.statistics.windowLog.withUnsafeBufferPointer { WL in
                    neighborScores.withUnsafeBufferPointer { NS in
                        query.withUnsafeBufferPointer { Q in
                            model.factors.rankingItems.scoreBlocks(user: Q.baseAddress!) { first, raw in
                                var scores = raw
                                if blend {
                                    Self.addBlendTerms(
                                        &scores,
                                        first: first,
                                        itemCount: n,
                                        neighborScores: NS,
                                        windowLog: WL,
                                        popularityBlend: popularityBlend
                                    )
                                }
                                if hasBonus {
                                    if beta > 0 && first + 8 <= n {
                                        let p = UnsafeRawPointer(P.baseAddress! + first).loadUnaligned(
                                            as: SIMD8<Float>.self
                                        )
                                        scores += SIMD8(repeating: beta) / (1 + p * scale).squareRoot()
                                    } else if beta > 0 {
                                        for lane in 0..<(n - first) {
                                            scores[lane] += beta / (1 + P[first + lane] * scale).squareRoot()
                                        }
                                    }
                                    if cold > 0 {
                                        for lane in 0..<min(8, n - first) {
                                            scores[lane] += cold * log1pf(Float(W[first + lane]))
                                        }
                                    }
                                }
                                selector.offerBlock(first: first, scores: scores, itemCount: n, items: items)
                            }
                        }
                    }
                }
            }
        }
    }
}
