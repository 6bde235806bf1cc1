import Foundation

/// Hyperparameters of the online matrix-factorization learner and the caps that bound its memory.
///
/// Every field has a default, and decoding tolerates missing keys, so configs and snapshots written by
/// older versions keep loading when fields are added.
public struct ModelConfig: Codable, Sendable, Hashable {
    /// Per-event update rule.
    public enum Loss: String, Codable, Sendable, CaseIterable {
        /// Bayesian personalized ranking: pairwise logistic loss on (positive, sampled negative).
        case bpr
        /// Incremental SGD (Vinagre et al. 2014): squared error towards 1 on positives, 0 on negatives.
        case isgd
    }

    /// How negatives are drawn.
    public enum NegativeSampling: String, Codable, Sendable, CaseIterable {
        /// Uniform over the catalog.
        case uniform
        /// Proportional to recent popularity (drawn from a ring of recent interactions).
        case popularity
    }

    /// Which scorer ranks items: the learned model or a baseline.
    public enum Ranker: String, Codable, Sendable, CaseIterable {
        case mf, popularity, random
    }

    public var ranker: Ranker = .mf
    public var factors: Int = 32
    public var learningRate: Float = 0.1
    public var regularization: Float = 0.01
    public var initScale: Float = 0.1
    public var negatives: Int = 4
    public var negativeSampling: NegativeSampling = .uniform
    public var loss: Loss = .bpr
    public var useItemBias: Bool = true
    public var seed: UInt64 = 42
    /// Live users kept; beyond this the least recently active user is evicted.
    public var maxUsers: Int = 1_000_000
    /// Live items kept; beyond this the least recently interacted item is evicted.
    public var maxItems: Int = 1_000_000
    /// Recent events remembered per user (sequence context).
    public var historyLength: Int = 50
    /// Distinct consumed items remembered per user for exclusion from recommendations.
    public var maxSeenPerUser: Int = 10_000
    /// Recent interactions kept for popularity-proportional negative sampling.
    public var popularityWindow: Int = 100_000

    // MARK: Exploration (ranking only: never changes what the model learns)

    /// ε-greedy: probability that each slot of an emitted list is replaced by a random live item the user
    /// hasn't consumed. Draws come from an RNG derived from (seed, user, event count), so ranking never
    /// perturbs the learning RNG and stays callable on a non-mutating learner. 0 = off.
    public var explorationEpsilon: Double = 0
    /// Uncertainty bonus β: MF scores become `score + β / sqrt(1 + n_item)`, where `n_item` is the item's
    /// (decayed) interaction weight, so rarely seen items get a chance to be shown and learned. 0 = off.
    public var uncertaintyBonus: Float = 0
    /// MMR diversity re-ranking trade-off λ: the top ``diversityCandidates`` are re-picked greedily by
    /// `λ·relevance − (1−λ)·max cosine to already picked items` (relevance min-max normalized over the
    /// candidates). 1 = off (plain top-K).
    public var diversityLambda: Float = 1
    /// Candidates (top-M by score) considered by MMR re-ranking.
    public var diversityCandidates: Int = 50

    // MARK: Sequence-aware scoring

    /// Recent items used as context (FPMC/Fossil-style): score = (u + mean of the recent items' context
    /// vectors) · v_i + b_i, with the context vectors (a second item matrix, zero-initialized) trained by
    /// the same SGD step. 0 = off (plain MF). On (3) by default: it beat plain MF on every benchmark
    /// log, with and without planted sequential structure (docs/beyond-mf.md), so `serve` and `replay`
    /// share the better model unless told otherwise.
    public var sequenceContext: Int = 3

    // MARK: Cold start

    /// Users with fewer remembered interactions than this get recent popularity blended into their MF
    /// scores (weight fading linearly to 0), and unknown users get popularity over the recent window
    /// instead of all-time popularity. 0 = off.
    public var coldStartUserEvents: Int = 0
    /// Weight of the `log(1 + recent count)` popularity term for a user with no interactions.
    public var coldStartPopularityWeight: Float = 1
    /// Known items whose factors (weighted by TF-IDF cosine) initialize a new item found in the item
    /// catalog, instead of random factors. Only used when a catalog is attached.
    public var coldStartNeighbors: Int = 3

    // MARK: Forgetting and drift (all in event time, milliseconds)

    /// Half-life of item popularity (popularity ranking, negatives' popularity, novelty, uncertainty).
    /// 0 = never forget.
    public var popularityHalfLife: Int64 = 0
    /// Half-life of factors of inactive users and items: when touched again after Δt of inactivity their
    /// factors are shrunk toward 0 by `2^(−Δt / halfLife)`, so stale taste yields to new evidence. 0 = off.
    public var factorDecayHalfLife: Int64 = 0
    /// Users inactive longer than this are removed (slot freed, state reset). 0 = never.
    public var userTTL: Int64 = 0
    /// Items without interactions for longer than this are removed (slot freed, state reset). 0 = never.
    public var itemTTL: Int64 = 0

    // MARK: Item-neighbour blend (docs/quality.md)

    /// Neighbours kept per item by the incremental item–item co-occurrence scorer (item-kNN, bounded
    /// by the space-saving rule); its scores and recent popularity are blended into MF scores with
    /// weights learned online. 0 = off (plain MF ranking).
    public var neighborWidth: Int = 128
    /// Previous items of the user each new item is paired with (≤ historyLength − 1).
    public var neighborHistory: Int = 10
    /// Recent items whose neighbours score the candidates.
    public var neighborContext: Int = 5
    /// Per-step decay of a pair's weight with the gap between the two items in the user's sequence, and
    /// of a context item's weight with its recency when scoring.
    public var neighborDecay: Float = 0.8
    /// Learning rate of the blend weights (neighbour score, recent popularity; MF fixed at 1), trained
    /// by a pairwise logistic step per event on scores computed before the event is learned. 0 = the
    /// weights stay at their initial values (neighbour 1, popularity 0).
    public var blendLearningRate: Float = 0.01

    public init() {}

    /// Checks ranges so a bad config fails at start-up with a named field instead of misbehaving later.
    public func validate() throws(ConfigError) {
        func check(_ ok: Bool, _ field: String, _ rule: String) throws(ConfigError) {
            if !ok { throw ConfigError(field: field, message: rule) }
        }
        try check(factors >= 1 && factors <= 1024, "factors", "must be in 1...1024")
        try check(learningRate.isFinite && learningRate > 0 && learningRate <= 10, "learningRate", "must be in (0, 10]")
        try check(
            regularization.isFinite && regularization >= 0 && regularization < 10,
            "regularization",
            "must be in [0, 10)"
        )
        try check(initScale.isFinite && initScale >= 0 && initScale <= 10, "initScale", "must be in [0, 10]")
        try check(negatives >= 0 && negatives <= 1000, "negatives", "must be in 0...1000")
        try check(maxUsers >= 1 && maxUsers <= Int(Int32.max), "maxUsers", "must be in 1...2^31-1")
        try check(maxItems >= 1 && maxItems <= Int(Int32.max), "maxItems", "must be in 1...2^31-1")
        try check(historyLength >= 1 && historyLength <= 65_535, "historyLength", "must be in 1...65535")
        try check(maxSeenPerUser >= 1 && maxSeenPerUser <= 1_000_000, "maxSeenPerUser", "must be in 1...1000000")
        try check(popularityWindow >= 1 && popularityWindow <= 100_000_000, "popularityWindow", "must be in 1...1e8")
        try check(
            explorationEpsilon.isFinite && explorationEpsilon >= 0 && explorationEpsilon <= 1,
            "explorationEpsilon",
            "must be in [0, 1]"
        )
        try check(
            uncertaintyBonus.isFinite && uncertaintyBonus >= 0 && uncertaintyBonus <= 100,
            "uncertaintyBonus",
            "must be in [0, 100]"
        )
        try check(
            diversityLambda.isFinite && diversityLambda >= 0 && diversityLambda <= 1,
            "diversityLambda",
            "must be in [0, 1]"
        )
        try check(
            diversityCandidates >= 1 && diversityCandidates <= 10_000,
            "diversityCandidates",
            "must be in 1...10000"
        )
        try check(
            sequenceContext >= 0 && sequenceContext < historyLength && sequenceContext <= 256,
            "sequenceContext",
            "must be in 0...min(256, historyLength - 1)"
        )
        try check(
            coldStartUserEvents >= 0 && coldStartUserEvents <= 1_000_000,
            "coldStartUserEvents",
            "must be in 0...1000000"
        )
        try check(
            coldStartPopularityWeight.isFinite && coldStartPopularityWeight >= 0 && coldStartPopularityWeight <= 100,
            "coldStartPopularityWeight",
            "must be in [0, 100]"
        )
        try check(coldStartNeighbors >= 0 && coldStartNeighbors <= 1000, "coldStartNeighbors", "must be in 0...1000")
        try check(popularityHalfLife >= 0, "popularityHalfLife", "must be >= 0")
        try check(factorDecayHalfLife >= 0, "factorDecayHalfLife", "must be >= 0")
        try check(userTTL >= 0, "userTTL", "must be >= 0")
        try check(itemTTL >= 0, "itemTTL", "must be >= 0")
        try check(neighborWidth >= 0 && neighborWidth <= 1024, "neighborWidth", "must be in 0...1024")
        try check(
            neighborHistory >= 0 && neighborHistory < historyLength,
            "neighborHistory",
            "must be in 0...historyLength - 1"
        )
        try check(
            neighborContext >= 0 && neighborContext <= historyLength,
            "neighborContext",
            "must be in 0...historyLength"
        )
        try check(
            neighborDecay.isFinite && neighborDecay > 0 && neighborDecay <= 1,
            "neighborDecay",
            "must be in (0, 1]"
        )
        try check(
            blendLearningRate.isFinite && blendLearningRate >= 0 && blendLearningRate <= 10,
            "blendLearningRate",
            "must be in [0, 10]"
        )
    }

    /// Stable fingerprint of the config (FNV-1a over canonical JSON), stored in snapshots so a learner
    /// never silently resumes a model trained with different hyperparameters.
    public var fingerprint: UInt64 { StableHash.fnv1a64(canonicalJSON) }

    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    private enum CodingKeys: String, CodingKey {
        case ranker, factors, learningRate, regularization, initScale, negatives, negativeSampling, loss
        case useItemBias, seed, maxUsers, maxItems, historyLength, maxSeenPerUser, popularityWindow
        case explorationEpsilon, uncertaintyBonus, diversityLambda, diversityCandidates, sequenceContext
        case coldStartUserEvents, coldStartPopularityWeight, coldStartNeighbors
        case popularityHalfLife, factorDecayHalfLife, userTTL, itemTTL
        case neighborWidth, neighborHistory, neighborContext, neighborDecay, blendLearningRate
    }

    /// Encodes every field, defaults included, so the ``fingerprint`` pins every setting: a default that
    /// changes between versions can't silently change what a resumed model means.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ranker, forKey: .ranker)
        try c.encode(factors, forKey: .factors)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(regularization, forKey: .regularization)
        try c.encode(initScale, forKey: .initScale)
        try c.encode(negatives, forKey: .negatives)
        try c.encode(negativeSampling, forKey: .negativeSampling)
        try c.encode(loss, forKey: .loss)
        try c.encode(useItemBias, forKey: .useItemBias)
        try c.encode(seed, forKey: .seed)
        try c.encode(maxUsers, forKey: .maxUsers)
        try c.encode(maxItems, forKey: .maxItems)
        try c.encode(historyLength, forKey: .historyLength)
        try c.encode(maxSeenPerUser, forKey: .maxSeenPerUser)
        try c.encode(popularityWindow, forKey: .popularityWindow)
        try c.encode(explorationEpsilon, forKey: .explorationEpsilon)
        try c.encode(uncertaintyBonus, forKey: .uncertaintyBonus)
        try c.encode(diversityLambda, forKey: .diversityLambda)
        try c.encode(diversityCandidates, forKey: .diversityCandidates)
        try c.encode(sequenceContext, forKey: .sequenceContext)
        try c.encode(coldStartUserEvents, forKey: .coldStartUserEvents)
        try c.encode(coldStartPopularityWeight, forKey: .coldStartPopularityWeight)
        try c.encode(coldStartNeighbors, forKey: .coldStartNeighbors)
        try c.encode(popularityHalfLife, forKey: .popularityHalfLife)
        try c.encode(factorDecayHalfLife, forKey: .factorDecayHalfLife)
        try c.encode(userTTL, forKey: .userTTL)
        try c.encode(itemTTL, forKey: .itemTTL)
        try c.encode(neighborWidth, forKey: .neighborWidth)
        try c.encode(neighborHistory, forKey: .neighborHistory)
        try c.encode(neighborContext, forKey: .neighborContext)
        try c.encode(neighborDecay, forKey: .neighborDecay)
        try c.encode(blendLearningRate, forKey: .blendLearningRate)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ModelConfig()
        ranker = try c.decodeIfPresent(Ranker.self, forKey: .ranker) ?? d.ranker
        factors = try c.decodeIfPresent(Int.self, forKey: .factors) ?? d.factors
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        regularization = try c.decodeIfPresent(Float.self, forKey: .regularization) ?? d.regularization
        initScale = try c.decodeIfPresent(Float.self, forKey: .initScale) ?? d.initScale
        negatives = try c.decodeIfPresent(Int.self, forKey: .negatives) ?? d.negatives
        negativeSampling = try c.decodeIfPresent(NegativeSampling.self, forKey: .negativeSampling) ?? d.negativeSampling
        loss = try c.decodeIfPresent(Loss.self, forKey: .loss) ?? d.loss
        useItemBias = try c.decodeIfPresent(Bool.self, forKey: .useItemBias) ?? d.useItemBias
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        maxUsers = try c.decodeIfPresent(Int.self, forKey: .maxUsers) ?? d.maxUsers
        maxItems = try c.decodeIfPresent(Int.self, forKey: .maxItems) ?? d.maxItems
        historyLength = try c.decodeIfPresent(Int.self, forKey: .historyLength) ?? d.historyLength
        maxSeenPerUser = try c.decodeIfPresent(Int.self, forKey: .maxSeenPerUser) ?? d.maxSeenPerUser
        popularityWindow = try c.decodeIfPresent(Int.self, forKey: .popularityWindow) ?? d.popularityWindow
        explorationEpsilon = try c.decodeIfPresent(Double.self, forKey: .explorationEpsilon) ?? d.explorationEpsilon
        uncertaintyBonus = try c.decodeIfPresent(Float.self, forKey: .uncertaintyBonus) ?? d.uncertaintyBonus
        diversityLambda = try c.decodeIfPresent(Float.self, forKey: .diversityLambda) ?? d.diversityLambda
        diversityCandidates = try c.decodeIfPresent(Int.self, forKey: .diversityCandidates) ?? d.diversityCandidates
        sequenceContext = try c.decodeIfPresent(Int.self, forKey: .sequenceContext) ?? d.sequenceContext
        coldStartUserEvents = try c.decodeIfPresent(Int.self, forKey: .coldStartUserEvents) ?? d.coldStartUserEvents
        coldStartPopularityWeight =
            try c.decodeIfPresent(Float.self, forKey: .coldStartPopularityWeight)
            ?? d.coldStartPopularityWeight
        coldStartNeighbors = try c.decodeIfPresent(Int.self, forKey: .coldStartNeighbors) ?? d.coldStartNeighbors
        popularityHalfLife = try c.decodeIfPresent(Int64.self, forKey: .popularityHalfLife) ?? d.popularityHalfLife
        factorDecayHalfLife = try c.decodeIfPresent(Int64.self, forKey: .factorDecayHalfLife) ?? d.factorDecayHalfLife
        userTTL = try c.decodeIfPresent(Int64.self, forKey: .userTTL) ?? d.userTTL
        itemTTL = try c.decodeIfPresent(Int64.self, forKey: .itemTTL) ?? d.itemTTL
        neighborWidth = try c.decodeIfPresent(Int.self, forKey: .neighborWidth) ?? d.neighborWidth
        neighborHistory = try c.decodeIfPresent(Int.self, forKey: .neighborHistory) ?? d.neighborHistory
        neighborContext = try c.decodeIfPresent(Int.self, forKey: .neighborContext) ?? d.neighborContext
        neighborDecay = try c.decodeIfPresent(Float.self, forKey: .neighborDecay) ?? d.neighborDecay
        blendLearningRate = try c.decodeIfPresent(Float.self, forKey: .blendLearningRate) ?? d.blendLearningRate
    }
}

/// A configuration value out of range.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "invalid config: \(field) \(message)" }
}
