public import ArgumentParser
import Foundation
import StreamRecCore
import StreamRecKafka
import StreamRecServe

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Backtest on an event log with the prequential (test-then-train) protocol.",
        discussion: """
            For each event, the user's top-K is ranked first and scored against the event's item, then the \
            model learns from the event. Logs: JSONL (schemas/event.schema.json), CSV user,item,ts[,weight], \
            tab-separated MovieLens u.data (user item rating ts-seconds) or a RecBole .inter file. Logs that \
            are not time-ordered are stably sorted by timestamp first. A rating counts as one interaction \
            unless --weight-from rating. With --config (the YAML file `serve` reads) the model, serve.k, \
            serve.ranking, weights and limits settings of that file apply, and STREAMREC_MODEL_* etc. \
            variables override them; flags override both.
            """
    )

    @Argument(help: "Event log file (.jsonl, .csv, .tsv, .inter or u.data); omit with --kafka.")
    var log: String?
    @Option(help: "Replay a Kafka topic instead of a file (read in assign mode: no consumer group is joined).")
    var kafka: String?
    @Option(
        help:
            "Kafka bootstrap servers for --kafka (default: kafka.bootstrap_servers of --config, else 127.0.0.1:9092; kafka.properties such as SASL settings apply too)."
    )
    var brokers: String?
    @Option(help: "Start offset (applied to every partition) for --kafka.")
    var fromOffset: Int64?
    @Option(help: "Start at the first message with timestamp >= this (ms since epoch) for --kafka.")
    var fromTime: Int64?
    @Option(help: "End offset (exclusive) for --kafka.")
    var toOffset: Int64?
    @Option(help: "End before the first message with timestamp >= this (ms since epoch) for --kafka.")
    var toTime: Int64?
    @Option(help: "Log format: auto | jsonl | csv | tsv.")
    var format: EventLogFormat = .auto
    @Option(name: .customLong("model"), help: "Rankers to compare, comma-separated: mf, popularity, random.")
    var models: String = "mf"
    @Option(name: .short, help: "List length K for recall@K, NDCG@K and MRR@K (default: serve.k of --config, else 10).")
    var k: Int?
    @Option(help: "Leading fraction of the log used for training only (0..<1).")
    var warmup: Double = 0
    @Option(help: "Scored events per metrics window.")
    var window: Int = 10_000
    @OptionGroup var model: ModelOptions
    @OptionGroup var eventLogOptions: EventLogOptions
    @Option(help: "Write the full report (all models, per-window metrics) as JSON to this path.")
    var report: String?
    @Option(help: "Write per-window metrics as CSV to this path.")
    var windowsCSV: String?
    @Option(help: "Write recall@K and NDCG@K per window as a self-contained HTML page (inline SVG) to this path.")
    var plot: String?
    @Option(help: "Snapshot directory (enables --snapshot-every and --resume).")
    var snapshotDir: String?
    @Option(help: "Take a snapshot every N events.")
    var snapshotEvery: Int64?
    @Flag(help: "Resume from the newest good snapshot in --snapshot-dir.")
    var resume = false
    @Option(help: "Stop after consuming N events of the log (a partial run; resume later with --resume).")
    var stopAfter: Int64?
    @Option(
        help:
            "MF top-K search: exact (every item) or approximate (IVF item index, exact below 4096 items). Default: serve.ranking of --config, else approximate."
    )
    var ranking: RankingMode?
    @Option(help: "Approximate ranking: inverted lists probed per query.")
    var probes: Int = ItemIndex.defaultProbes
    @Option(
        help: "Approximate ranking: rank the exact list too every N scored events and report the overlap (0 = never)."
    )
    var overlapEvery: Int = 50
    @Flag(help: "Skip intra-list diversity (saves O(K² k) per event).")
    var noDiversity = false
    @Option(help: "Unconsumed items sampled per scored event for AUC (0 = no AUC).")
    var aucSamples: Int = 100
    @Option(
        help:
            "Write every scored list (with exploration propensities when --epsilon > 0) as JSONL to this path, for evaluate-policy."
    )
    var listsOut: String?
    @Flag(help: "Never draw a progress bar.")
    var quiet = false
    @OptionGroup var scaleOutOptions: ScaleOutReplayOptions

    func validate() throws {
        if let k { guard k >= 1 && k <= 1000 else { throw ValidationError("-k must be in 1...1000") } }
        guard warmup >= 0 && warmup < 1 else { throw ValidationError("--warmup must be in [0, 1)") }
        guard window >= 1 else { throw ValidationError("--window must be positive") }
        guard aucSamples >= 0 && aucSamples <= 100_000 else {
            throw ValidationError("--auc-samples must be in 0...100000")
        }
        guard probes >= 1 && probes <= 1_000_000 else { throw ValidationError("--probes must be in 1...1000000") }
        guard overlapEvery >= 0 else { throw ValidationError("--overlap-every must be >= 0") }
        guard (log == nil) != (kafka == nil) else { throw ValidationError("give either a log file or --kafka <topic>") }
        guard fromOffset == nil || fromTime == nil, toOffset == nil || toTime == nil else {
            throw ValidationError("use either an offset or a time for each bound")
        }
        if (snapshotEvery != nil || resume) && snapshotDir == nil {
            throw ValidationError("--snapshot-every and --resume need --snapshot-dir")
        }
        _ = try rankers()
    }

    func rankers() throws -> [ModelConfig.Ranker] {
        try models.split(separator: ",").map {
            guard let r = ModelConfig.Ranker(rawValue: $0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown model '\($0)'; expected mf, popularity or random")
            }
            return r
        }
    }

    func run() async throws {
        let settings = try await model.settings(
            extra: [
                "serve.k": k.map(String.init), "serve.ranking": ranking?.rawValue,
                "kafka.bootstrap_servers": brokers,
            ].compactMapValues { $0 }
        )
        let k = settings.k
        let rankers = try rankers()
        guard !(rankers.count > 1 && snapshotDir != nil) else {
            throw ValidationError("snapshots need a single --model")
        }
        guard !(rankers.count > 1 && listsOut != nil) else {
            throw ValidationError("--lists-out needs a single --model")
        }
        let events = try eventLogOptions.filter(try loadEvents(kafkaConfig: settings.adminKafkaConfig))  // time-ordered
        guard !events.isEmpty else { throw CLIError("no valid events in \(source)") }

        var options = ReplayOptions()
        options.k = k
        options.warmupFraction = warmup
        options.windowSize = window
        options.snapshotEvery = snapshotEvery
        options.stopAfter = stopAfter
        options.measureDiversity = !noDiversity
        options.aucSamples = aucSamples
        let listWriter = try listsOut.map { try JSONLWriter(path: $0) }
        options.ranking = settings.ranking
        options.overlapEvery = overlapEvery
        options.weights = eventLogOptions.weights(base: settings.weights)

        let catalog = try model.loadCatalog()
        if scaleOutOptions.isOn {
            return try runScaleOut(
                events: events,
                options: options,
                configs: rankers.map {
                    var c = settings.model
                    c.ranker = $0
                    return c
                },
                catalog: catalog
            )
        }
        var reports: [ReplayReport] = []
        for ranker in rankers {
            var config = settings.model
            config.ranker = ranker
            let store = try snapshotDir.map { dir throws(SnapshotError) in try SnapshotStore(directory: dir) }
            var session: ReplaySession
            if resume, let store, let loaded = try store.loadNewestGood(expectedConfig: config) {
                for bad in loaded.rejected { stderr("warning: skipped bad snapshot \(bad.error)") }
                stderr("resuming from \(loaded.path) at event \(loaded.snapshot.position.eventsConsumed)")
                session = try ReplaySession(resuming: loaded.snapshot, options: options)
            } else {
                session = try ReplaySession(config: config, options: options)
            }
            session.attach(catalog: catalog)
            session.setProbes(probes)
            let bar = ProgressBar(label: ranker.rawValue, enabled: !quiet)
            let report = try session.run(
                events: events,
                snapshots: store,
                progress: { done, total in bar.update(done, total) },
                lists: listWriter.map { w in { w.append($0) } }
            )
            if let listWriter, let path = listsOut {
                try listWriter.close()
                stderr("\(listWriter.lines) lists written to \(path)")
            }
            bar.finish()
            reports.append(report)
            if let overlap = report.indexOverlap, let samples = report.indexOverlapSamples {
                stderr(
                    "approximate ranking (\(probes) probes): top-\(k) overlap with exact \(String(format: "%.4f", overlap)) over \(samples) sampled events"
                )
            }
            if let store, stopAfter == nil || report.consumedEvents == report.totalEvents {
                let path = try store.write(session.snapshot())
                stderr("final snapshot: \(path)")
            }
        }
        print(ReportTable.render(reports))
        if let path = report {
            try writeJSON(ReplayReportFile(log: source, reports: reports), to: path)
            stderr("report written to \(path)")
        }
        if let path = windowsCSV {
            try ReportTable.windowsCSV(reports).write(toFile: path, atomically: true, encoding: .utf8)
            stderr("per-window metrics written to \(path)")
        }
        if let path = plot {
            try ReplayPlot.html(reports, title: "streamrec replay: \(source)").write(
                toFile: path,
                atomically: true,
                encoding: .utf8
            )
            stderr("plot written to \(path)")
        }
    }
}

extension ReplayCommand {
    var source: String { log ?? "kafka:\(kafka ?? "")" }

    func loadEvents(kafkaConfig: KafkaConfig) throws -> [Event] {
        if let topic = kafka {
            var reader = KafkaEventSource(configuration: kafkaConfig, topic: topic)
            reader.from = fromOffset.map { .offset($0) } ?? fromTime.map { .time($0) } ?? .beginning
            reader.to = toOffset.map { .offset($0) } ?? toTime.map { .time($0) } ?? .end
            let result = try reader.read()
            let ranges = result.ranges.sorted { $0.key < $1.key }.map {
                "\($0.key)[\($0.value.lowerBound)...\($0.value.upperBound)]"
            }
            stderr(
                "read \(result.events.count) events from \(topic) \(ranges.joined(separator: " ")) (\(result.malformed) malformed)"
            )
            for e in result.firstErrors { stderr("  skipped \(e)") }
            return result.events
        }
        return try readTimeOrderedLog(log ?? "", format: format)
    }
}

/// The `--report` JSON document.
struct ReplayReportFile: Codable {
    var log: String
    var reports: [ReplayReport]
}

func writeJSON(_ value: some Encodable, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
}

/// Reads a whole log in time order (``TimeOrderedLog``), reporting malformed lines and sorting on stderr.
func readTimeOrderedLog(_ log: String, format: EventLogFormat) throws -> [Event] {
    let loaded: TimeOrderedLog
    do {
        loaded = try TimeOrderedLog(path: log, format: format)
    } catch {
        throw CLIError("cannot read \(log): \(error)")
    }
    let stats = loaded.stats
    stderr("read \(stats.events) events from \(log) (\(stats.lines) lines, \(stats.malformed) malformed)")
    for example in stats.malformedExamples.prefix(5) { stderr("  skipped \(example)") }
    if stats.malformed > 5 { stderr("  … \(stats.malformed - 5) more malformed lines skipped") }
    if loaded.wasSorted {
        stderr("log is not time-ordered: sorting \(loaded.events.count) events by timestamp (stable)")
    }
    guard !loaded.events.isEmpty else { throw CLIError("no valid events in \(log)") }
    return loaded.events
}

extension RankingMode: ExpressibleByArgument {}
