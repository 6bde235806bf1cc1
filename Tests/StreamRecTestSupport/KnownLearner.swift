public import StreamRecCore

/// A small learner trained on a hand-written sequence, so tests know exactly what it has seen.
///
/// Popularity: i1 ×4, i2 ×3, i3 ×2, i4 ×1, i5 ×1. u1 consumed i1, i2; u2 consumed i1, i2, i3; u3 i1, i4;
/// u4 i1, i3, i5.
public func makeLearner(ranker: ModelConfig.Ranker = .mf, maxUsers: Int = 1000) throws -> OnlineLearner {
    var config = ModelConfig()
    config.ranker = ranker
    config.factors = 8
    config.maxUsers = maxUsers
    var learner = try OnlineLearner(config: config)
    for (t, pair) in knownEvents.enumerated() {
        try learner.learn(user: pair.0, item: pair.1, timestamp: Int64(t), weight: 1)
    }
    return learner
}

public let knownEvents: [(String, String)] = [
    ("u1", "i1"), ("u2", "i1"), ("u1", "i2"), ("u2", "i2"), ("u3", "i1"), ("u2", "i3"), ("u4", "i1"),
    ("u3", "i4"), ("u4", "i3"), ("u4", "i5"), ("u4", "i2"),
]
