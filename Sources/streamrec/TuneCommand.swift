public import ArgumentParser
import Foundation
import StreamRecCore
import StreamRecServe

struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search MF hyperparameters by prequential replay over a prefix of a log.",
        discussion: """
            Candidates come from a grid over --factors-grid × --lr-grid × --reg-grid × --negatives-grid × \
            --loss-grid: all of it with --grid, else --trials points drawn with --search-seed. Each is replayed \
            on the first --prefix of the log (the rest stays unseen) and ranked by --metric. Model flags not \
            searched (exploration, sequence context, forgetting, …) apply to every candidate, as in `replay`. \
            The current settings (defaults plus the model flags given) are evaluated first, and every \
            candidate is replayed under --seeds seeds: the table shows the mean and the spread (sd). With \
            --config (the YAML file `serve` reads) its model settings are the current settings, as in `replay`.
            """
    )

    @Argument(help: "Event log file (.jsonl, .csv, .tsv, .inter or u.data).")
    var log: String
    @Option(help: "Log format: auto | jsonl | csv | tsv.")
    var format: EventLogFormat = .auto
    @Option(help: "Leading fraction of the log replayed per candidate (0 < p ≤ 1).")
    var prefix: Double = 0.3
    @Flag(help: "Try the whole grid instead of a random sample.")
    var grid = false
    @Option(help: "Leading fraction of the prefix used for training only, as in `replay --warmup`.")
    var warmup: Double = 0.1
    @Option(help: "Seeds per candidate (config seed, +1, …); the score is their mean, the spread their sd.")
    var seeds: Int = 3
    @Option(help: "Random-search trials (without --grid).")
    var trials: Int = 12
    @Option(help: "Seed of the random search.")
    var searchSeed: UInt64 = 1
    @Option(help: "Ranking metric: recall | ndcg | mrr.")
    var metric: HyperparameterSearch.Metric = .recall
    @Option(name: .short, help: "List length K.")
    var k: Int = 10
    @Option(help: "Factors to try, comma-separated.")
    var factorsGrid: String = "16,32,64"
    @Option(help: "Learning rates to try.")
    var lrGrid: String = "0.03,0.1,0.3"
    @Option(help: "Regularizations to try.")
    var regGrid: String = "0.001,0.01,0.05"
    @Option(help: "Negatives per positive to try.")
    var negativesGrid: String = "2,4,8"
    @Option(help: "Losses to try (bpr, isgd).")
    var lossGrid: String = "bpr,isgd"
    @OptionGroup var model: ModelOptions
    @OptionGroup var eventLogOptions: EventLogOptions
    @Flag(help: "Never draw a progress line.")
    var quiet = false

    func validate() throws {
        guard prefix > 0 && prefix <= 1 else { throw ValidationError("--prefix must be in (0, 1]") }
        guard trials >= 1 else { throw ValidationError("--trials must be positive") }
        guard warmup >= 0 && warmup < 1 else { throw ValidationError("--warmup must be in [0, 1)") }
        guard seeds >= 1 && seeds <= 100 else { throw ValidationError("--seeds must be in 1...100") }
        guard k >= 1 && k <= 1000 else { throw ValidationError("-k must be in 1...1000") }
        _ = try space()
    }

    func space() throws -> HyperparameterSearch.Space {
        func list<T>(_ s: String, _ name: String, _ parse: (String) -> T?) throws -> [T] {
            let values = try s.split(separator: ",").map { part -> T in
                let p = part.trimmingCharacters(in: .whitespaces)
                guard let v = parse(p) else { throw ValidationError("--\(name): cannot parse '\(p)'") }
                return v
            }
            guard !values.isEmpty else { throw ValidationError("--\(name) is empty") }
            return values
        }
        var space = HyperparameterSearch.Space()
        space.factors = try list(factorsGrid, "factors-grid") { Int($0) }
        space.learningRates = try list(lrGrid, "lr-grid") { Float($0) }
        space.regularizations = try list(regGrid, "reg-grid") { Float($0) }
        space.negatives = try list(negativesGrid, "negatives-grid") { Int($0) }
        space.losses = try list(lossGrid, "loss-grid") { ModelConfig.Loss(rawValue: $0) }
        return space
    }

    func run() async throws {
        let settings = try await model.settings()
        let events = try eventLogOptions.filter(try readTimeOrderedLog(log, format: format))
        var search = HyperparameterSearch()
        search.space = try space()
        search.strategy = grid ? .grid : .random(trials: trials, seed: searchSeed)
        search.metric = metric
        search.prefix = prefix
        search.options.k = k
        search.options.warmupFraction = warmup
        search.options.weights = eventLogOptions.weights(base: settings.weights)
        search.seeds = seeds
        search.options.measureDiversity = false
        search.options.windowSize = Int.max / 2
        let total = search.candidateIndices().count + 1
        stderr(
            "tuning: current settings + \(total - 1) of \(search.space.gridSize) grid points × \(seeds) seeds, prefix \(prefix) of \(events.count) events (warmup \(warmup)), metric \(metric.rawValue)@\(k)"
        )
        var done = 0
        let trialsRun = try search.run(events: events, base: settings.model, catalog: model.loadCatalog()) { t in
            done += 1
            if !quiet {
                stderr(
                    String(
                        format: "  [%d/%d] %@%@ = %.4f ± %.4f",
                        done,
                        total,
                        t.isBase ? "(current) " : "",
                        flags(t.config),
                        t.score,
                        t.spread
                    )
                )
            }
        }
        let header = [
            "rank", "factors", "lr", "reg", "negatives", "loss", "\(metric.rawValue)@\(k) mean", "sd",
            "recall@\(k)", "NDCG@\(k)", "MRR@\(k)", "events/s",
        ]
        let rows = trialsRun.enumerated().map { r, t in
            [
                "\(r + 1)\(t.isBase ? " (current)" : "")", "\(t.config.factors)", "\(t.config.learningRate)",
                "\(t.config.regularization)", "\(t.config.negatives)", t.config.loss.rawValue,
                String(format: "%.4f", t.score), String(format: "%.4f", t.spread),
                String(format: "%.4f", t.report.recall),
                String(format: "%.4f", t.report.ndcg), String(format: "%.4f", t.report.mrr),
                String(format: "%.0f", t.report.eventsPerSecond),
            ]
        }
        print(ReportTable.markdown(header: header, rows: rows))
        if let best = trialsRun.first {
            print("\nbest (\(metric.rawValue)@\(k) = \(String(format: "%.4f", best.score))): \(flags(best.config))")
        }
    }

    private func flags(_ c: ModelConfig) -> String {
        "--factors \(c.factors) --lr \(c.learningRate) --reg \(c.regularization) --negatives \(c.negatives) --loss \(c.loss.rawValue)"
    }
}

extension HyperparameterSearch.Metric: ExpressibleByArgument {}
