public import ArgumentParser
import Foundation
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

    // Beyond plain MF (all off by default; see docs/beyond-mf.md).
    @Option(help: "ε-greedy exploration: probability each list slot is a random unconsumed item.")
    var epsilon: Double = ModelConfig().explorationEpsilon
    @Option(help: "Uncertainty bonus β: score + β/sqrt(1 + item interactions).")
    var uncertaintyBonus: Float = ModelConfig().uncertaintyBonus
    @Option(help: "MMR diversity re-ranking λ (1 = off).")
    var mmrLambda: Float = ModelConfig().diversityLambda
    @Option(help: "Candidates (top-M) re-ranked by MMR.")
    var mmrCandidates: Int = ModelConfig().diversityCandidates
    @Option(help: "Sequence-aware scoring: recent items used as context (0 = plain MF).")
    var sequenceContext: Int = ModelConfig().sequenceContext
    @Option(help: "Cold start: users with fewer interactions get recent popularity blended in (0 = off).")
    var coldStartEvents: Int = ModelConfig().coldStartUserEvents
    @Option(help: "Cold start: weight of log(1 + recent count) for a user with no interactions.")
    var coldStartWeight: Float = ModelConfig().coldStartPopularityWeight
    @Option(help: "Cold start: similar known items averaged to initialize a new catalog item.")
    var coldStartNeighbors: Int = ModelConfig().coldStartNeighbors
    @Option(help: "Half-life of item popularity in event time, e.g. 30m, 6h, 2d (0 = never forget).")
    var popularityHalfLife: EventTimeSpan = EventTimeSpan(milliseconds: ModelConfig().popularityHalfLife)
    @Option(help: "Half-life of inactive users'/items' factors, applied on their next touch (0 = off).")
    var factorHalfLife: EventTimeSpan = EventTimeSpan(milliseconds: ModelConfig().factorDecayHalfLife)
    @Option(help: "Remove users inactive longer than this (0 = never).")
    var userTtl: EventTimeSpan = EventTimeSpan(milliseconds: ModelConfig().userTTL)
    @Option(help: "Remove items without interactions for longer than this (0 = never).")
    var itemTtl: EventTimeSpan = EventTimeSpan(milliseconds: ModelConfig().itemTTL)
    @Option(help: "Item-neighbour blend: neighbours kept per item by the co-occurrence scorer (0 = plain MF ranking).")
    var neighbors: Int = ModelConfig().neighborWidth
    @Option(help: "Item-neighbour blend: previous items of the user each new item is paired with.")
    var neighborHistory: Int = ModelConfig().neighborHistory
    @Option(help: "Item-neighbour blend: recent items whose neighbours score the candidates.")
    var neighborContext: Int = ModelConfig().neighborContext
    @Option(help: "Item-neighbour blend: weight decay per step of sequence gap / recency (0, 1].")
    var neighborDecay: Float = ModelConfig().neighborDecay
    @Option(help: "Item-neighbour blend: learning rate of the online blend weights (0 = fixed).")
    var blendLr: Float = ModelConfig().blendLearningRate
    @Option(help: "JSONL item catalog {item, attributes, text}: new items start from similar items' factors.")
    var itemCatalog: String?

    /// Loads `--item-catalog`, if given.
    func loadCatalog() throws -> ItemCatalog? {
        guard let path = itemCatalog else { return nil }
        do {
            let (catalog, malformed) = try ItemCatalog.load(path: path)
            stderr("read item catalog \(path): \(catalog.count) items\(malformed > 0 ? ", \(malformed) malformed lines skipped" : "")")
            return catalog
        } catch {
            throw CLIError("cannot read item catalog \(path): \(error)")
        }
    }

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
        c.explorationEpsilon = epsilon
        c.uncertaintyBonus = uncertaintyBonus
        c.diversityLambda = mmrLambda
        c.diversityCandidates = mmrCandidates
        c.sequenceContext = sequenceContext
        c.coldStartUserEvents = coldStartEvents
        c.coldStartPopularityWeight = coldStartWeight
        c.coldStartNeighbors = coldStartNeighbors
        c.popularityHalfLife = popularityHalfLife.milliseconds
        c.factorDecayHalfLife = factorHalfLife.milliseconds
        c.userTTL = userTtl.milliseconds
        c.itemTTL = itemTtl.milliseconds
        c.neighborWidth = neighbors
        c.neighborHistory = neighborHistory
        c.neighborContext = neighborContext
        c.neighborDecay = neighborDecay
        c.blendLearningRate = blendLr
        return c
    }
}

extension ModelConfig.NegativeSampling: ExpressibleByArgument {}
extension ModelConfig.Loss: ExpressibleByArgument {}
extension ModelConfig.Ranker: ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}

/// A span of event time on the command line: a number with an optional unit (ms, s, m, h, d; bare
/// numbers are milliseconds), e.g. `90s`, `6h`, `2d`.
struct EventTimeSpan: ExpressibleByArgument, Sendable {
    var milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        let trimmed = argument.trimmingCharacters(in: .whitespaces).lowercased()
        var number = trimmed, scale: Int64 = 1
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let head = String(trimmed.dropLast(suffix.count))
            if Double(head) != nil { number = head; scale = factor; break }
        }
        guard let value = Double(number), value >= 0, value * Double(scale) < 9e18 else { return nil }
        milliseconds = Int64((value * Double(scale)).rounded())
    }

    var defaultValueDescription: String { "\(milliseconds)ms" }
}
