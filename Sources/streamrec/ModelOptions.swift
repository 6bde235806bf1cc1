import ArgumentParser
import StreamRecCore

/// Hyperparameter flags shared by `replay`, `serve` and `tune`.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("factors"), help: "Latent factors (k).")
    var factors: Int = ModelConfig().factors
    @Option(name: .customLong("lr"), help: "SGD learning rate.")
    var learningRate: Float = ModelConfig().learningRate
    @Option(name: .customLong("reg"), help: "L2 regularization.")
    var regularization: Float = ModelConfig().regularization
    @Option(help: "Sampled negatives per positive event.")
    var negatives: Int = ModelConfig().negatives
    @Option(help: "Negative sampling: uniform | popularity.")
    var sampling: ModelConfig.NegativeSampling = ModelConfig().negativeSampling
    @Option(help: "Loss: bpr | isgd.")
    var loss: ModelConfig.Loss = ModelConfig().loss
    @Option(help: "Standard deviation of initial factors.")
    var initScale: Float = ModelConfig().initScale
    @Option(help: "RNG seed (model initialization and negative sampling).")
    var seed: UInt64 = ModelConfig().seed
    @Option(help: "Cap on live users (least recently active evicted beyond it).")
    var maxUsers: Int = ModelConfig().maxUsers
    @Option(help: "Cap on live items.")
    var maxItems: Int = ModelConfig().maxItems
    @Option(help: "Recent events kept per user.")
    var history: Int = ModelConfig().historyLength

    func config(ranker: ModelConfig.Ranker = .mf) -> ModelConfig {
        var c = ModelConfig()
        c.ranker = ranker
        c.factors = factors
        c.learningRate = learningRate
        c.regularization = regularization
        c.negatives = negatives
        c.negativeSampling = sampling
        c.loss = loss
        c.initScale = initScale
        c.seed = seed
        c.maxUsers = maxUsers
        c.maxItems = maxItems
        c.historyLength = history
        return c
    }
}

extension ModelConfig.NegativeSampling: ExpressibleByArgument {}
extension ModelConfig.Loss: ExpressibleByArgument {}
extension ModelConfig.Ranker: ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
