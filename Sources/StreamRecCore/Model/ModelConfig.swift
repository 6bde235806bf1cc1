import Foundation

/// Hyperparameters of the online matrix-factorization learner and the caps that bound its memory.
///
/// Every field has a default here and one row in ``ModelSettings`` (key, valid values, flag, help), from
/// which validation, coding, the config reader, flags, the example config and the docs are derived.
/// Decoding tolerates missing keys, so configs and snapshots written by older versions keep loading
/// when fields are added.
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

    /// Checks every ``ModelSettings`` row's rule, so a bad config fails at start-up with a named field
    /// instead of misbehaving later.
    public func validate() throws(ConfigError) {
        for setting in ModelSettings.all { try setting.validate(self) }
    }

    /// Stable fingerprint of the config (FNV-1a over canonical JSON), stored in snapshots so a learner
    /// never silently resumes a model trained with different hyperparameters.
    public var fingerprint: UInt64 { StableHash.fnv1a64(canonicalJSON) }

    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Encodes every ``ModelSettings`` row, defaults included, so the ``fingerprint`` pins every setting:
    /// a default that changes between versions can't silently change what a resumed model means.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ModelSettingCodingKey.self)
        for setting in ModelSettings.all { try setting.encode(self, into: &container) }
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: ModelSettingCodingKey.self)
        for setting in ModelSettings.all { try setting.decode(from: container, into: &self) }
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
