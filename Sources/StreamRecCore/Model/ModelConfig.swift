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
    public var maxSeenPerUser: Int = 1000
    /// Recent interactions kept for popularity-proportional negative sampling.
    public var popularityWindow: Int = 100_000

    public init() {}

    /// Checks ranges so a bad config fails at start-up with a named field instead of misbehaving later.
    public func validate() throws(ConfigError) {
        func check(_ ok: Bool, _ field: String, _ rule: String) throws(ConfigError) {
            if !ok { throw ConfigError(field: field, message: rule) }
        }
        try check(factors >= 1 && factors <= 1024, "factors", "must be in 1...1024")
        try check(learningRate.isFinite && learningRate > 0 && learningRate <= 10, "learningRate", "must be in (0, 10]")
        try check(regularization.isFinite && regularization >= 0 && regularization < 10, "regularization", "must be in [0, 10)")
        try check(initScale.isFinite && initScale >= 0 && initScale <= 10, "initScale", "must be in [0, 10]")
        try check(negatives >= 0 && negatives <= 1000, "negatives", "must be in 0...1000")
        try check(maxUsers >= 1 && maxUsers <= Int(Int32.max), "maxUsers", "must be in 1...2^31-1")
        try check(maxItems >= 1 && maxItems <= Int(Int32.max), "maxItems", "must be in 1...2^31-1")
        try check(historyLength >= 1 && historyLength <= 65_535, "historyLength", "must be in 1...65535")
        try check(maxSeenPerUser >= 1 && maxSeenPerUser <= 1_000_000, "maxSeenPerUser", "must be in 1...1000000")
        try check(popularityWindow >= 1 && popularityWindow <= 100_000_000, "popularityWindow", "must be in 1...1e8")
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

import Foundation
