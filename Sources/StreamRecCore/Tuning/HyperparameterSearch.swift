/// A small hyperparameter search: each candidate config is scored by a prequential replay over a prefix
/// of the log (so tuning never peeks at the events it will later be judged on), and the results ranked.
///
/// The candidates are a grid over factors × learning rate × regularization × negatives × loss; `grid`
/// tries all of them, `random` a fixed-seed sample without replacement. Everything not searched (the
/// beyond-MF features, caps, seed) comes from the base config, so `tune` shares flags with `replay`.
/// The base config itself is evaluated first (so a search never reports a "best" that is worse than
/// what you already run), and each candidate can be replayed under several seeds to show how much of a
/// difference is noise.
public struct HyperparameterSearch: Sendable {
    /// The searched values.
    public struct Space: Sendable, Equatable {
        public var factors: [Int] = [16, 32, 64]
        public var learningRates: [Float] = [0.03, 0.1, 0.3]
        public var regularizations: [Float] = [0.001, 0.01, 0.05]
        public var negatives: [Int] = [2, 4, 8]
        public var losses: [ModelConfig.Loss] = [.bpr, .isgd]

        public init() {}

        public var gridSize: Int {
            factors.count * learningRates.count * regularizations.count * negatives.count * losses.count
        }

        /// The `index`-th grid point (mixed radix, loss varying slowest), on top of `base`.
        public func config(at index: Int, base: ModelConfig) -> ModelConfig {
            var c = base
            var r = index
            c.factors = factors[r % factors.count]
            r /= factors.count
            c.learningRate = learningRates[r % learningRates.count]
            r /= learningRates.count
            c.regularization = regularizations[r % regularizations.count]
            r /= regularizations.count
            c.negatives = negatives[r % negatives.count]
            r /= negatives.count
            c.loss = losses[r % losses.count]
            return c
        }
    }

    public enum Strategy: Sendable, Equatable {
        case grid
        /// `trials` distinct grid points drawn with a fixed seed.
        case random(trials: Int, seed: UInt64)
    }

    /// The metric candidates are ranked by.
    public enum Metric: String, Sendable, CaseIterable, Codable {
        case recall, ndcg, mrr
        public func value(_ r: ReplayReport) -> Double {
            switch self {
            case .recall: r.recall
            case .ndcg: r.ndcg
            case .mrr: r.mrr
            }
        }
    }

    public struct Trial: Sendable {
        /// Position in the order tried (0 = the base config when ``evaluateBase``).
        public var index: Int
        public var config: ModelConfig
        /// The report of the first seed (the config's own seed).
        public var report: ReplayReport
        /// Mean of the metric over the seeds.
        public var score: Double
        /// The metric per seed (config seed, seed + 1, …).
        public var scores: [Double] = []
        /// Sample standard deviation of `scores` (0 with one seed).
        public var spread: Double = 0
        /// This trial is the base config (the current settings), not a grid point.
        public var isBase = false
    }

    public var space = Space()
    public var strategy: Strategy = .random(trials: 12, seed: 1)
    public var metric: Metric = .recall
    /// Leading fraction of the log replayed per trial.
    public var prefix: Double = 0.3
    public var options = ReplayOptions()
    /// Evaluate the base config first, as a trial of its own (skipped when it is a grid point).
    public var evaluateBase = true
    /// Seeds per candidate (the config's seed, then seed + 1, …); the score is their mean.
    public var seeds = 1

    public init() {}

    /// The grid indices tried, in order.
    public func candidateIndices() -> [Int] {
        let n = space.gridSize
        switch strategy {
        case .grid:
            return Array(0..<n)
        case let .random(trials, seed):
            var rng = RandomSource(seed: seed)
            var pool = Array(0..<n)
            let m = min(max(trials, 0), n)
            for t in 0..<m { pool.swapAt(t, t + rng.nextInt(below: n - t)) }  // partial Fisher–Yates
            return Array(pool.prefix(m))
        }
    }

    /// Runs every candidate on `events.prefix(prefix · count)` and returns the trials best first (ties:
    /// the earlier trial). `progress` is called after each trial.
    public func run(
        events: [Event],
        base: ModelConfig,
        catalog: ItemCatalog? = nil,
        progress: ((Trial) -> Void)? = nil
    ) throws(ConfigError) -> [Trial] {
        let n = max(1, min(events.count, Int((prefix * Double(events.count)).rounded(.down))))
        let slice = Array(events.prefix(n))
        var options = self.options
        options.snapshotEvery = nil
        options.stopAfter = nil
        var trials: [Trial] = []
        var configs = candidateIndices().map { space.config(at: $0, base: base) }
        if evaluateBase && !configs.contains(base) { configs.insert(base, at: 0) }
        for (t, config) in configs.enumerated() {
            var reports: [ReplayReport] = []
            for s in 0..<max(1, seeds) {
                var seeded = config
                seeded.seed = config.seed &+ UInt64(s)
                var session = try ReplaySession(config: seeded, options: options)
                session.attach(catalog: catalog)
                // No snapshot store is passed, so the replay cannot fail on snapshot I/O.
                guard let report = try? session.run(events: slice) else { continue }
                reports.append(report)
            }
            guard let first = reports.first else { continue }
            let scores = reports.map(metric.value)
            let mean = scores.reduce(0, +) / Double(scores.count)
            let variance =
                scores.count > 1
                ? scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(scores.count - 1) : 0
            let trial = Trial(
                index: t,
                config: config,
                report: first,
                score: mean,
                scores: scores,
                spread: variance.squareRoot(),
                isBase: config == base
            )
            progress?(trial)
            trials.append(trial)
        }
        return trials.sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
    }
}
