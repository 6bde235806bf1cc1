import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import StreamRecCore
import StreamRecServe
import UnixSignals

/// Development-only: the operations HTTP API over a learner fed from a log file instead of Kafka.
struct HTTPDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-demo",
        abstract: "(dev) Serve the operations HTTP API and live view over a learner replaying a log file.",
        discussion: """
            Not a serving mode: no Kafka, no snapshots, nothing produced. The learner first learns the leading \
            --warmup fraction of the log, then keeps learning the rest at --rate events/s in the background \
            (test-then-train: online recall@K is measured on sampled events) while /, /stats, /metrics, \
            /readyz and the query endpoints are served. The log is shown as one pseudo-partition \
            'demo-log'/0 whose lag is the number of log events not yet learned. Used by \
            scripts/check-live-view.sh and bench/http-bench.sh. --config reads the model, weights and limits \
            settings of a serve config file.
            """,
        shouldDisplay: false
    )

    @Option(help: "Event log file (.jsonl, .csv, .tsv or u.data).")
    var log: String
    @Option(help: "Log format: auto | jsonl | csv | tsv.")
    var format: EventLogFormat = .auto
    @Option(help: "Bind address (loopback by default).")
    var host: String = "127.0.0.1"
    @Option(help: "Port (0 = any free port; the bound port is logged and printed).")
    var port: Int = 8080
    @Option(help: "Leading fraction of the log learned before serving (0..<1).")
    var warmup: Double = 0.5
    @Option(help: "Events per second learned in the background after warm-up (0 = as fast as possible).")
    var rate: Double = 2000
    @Option(name: .short, help: "K of the online recall@K.")
    var k: Int = 10
    @Option(help: "Score every Nth event for online recall.")
    var recallSampleEvery: Int = 10
    @Option(help: "Scored events in the online recall window.")
    var recallWindow: Int = 1000
    @Option(help: "Total lag at or below which /readyz reports ready.")
    var maxLag: Int64 = 10_000
    @Option(help: "Log level (overridden by STREAMREC_LOG_LEVEL).")
    var logLevel: String = "info"
    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard warmup >= 0 && warmup < 1 else { throw ValidationError("--warmup must be in [0, 1)") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard rate >= 0 else { throw ValidationError("--rate must be >= 0") }
        guard k >= 1 && k <= 1000 else { throw ValidationError("-k must be in 1...1000") }
    }

    func run() async throws {
        LoggingBootstrap.bootstrap(configured: Logger.Level(rawValue: logLevel.lowercased()))
        let logger = Logger(label: "streamrec.http-demo")
        let events: [Event]
        do {
            events = try TimeOrderedLog(path: log, format: format).events
        } catch {
            throw CLIError("cannot read \(log): \(error)")
        }
        guard !events.isEmpty else { throw CLIError("no valid events in \(log)") }

        let settings = try await model.settings()
        let weights = settings.weights
        var learner = try OnlineLearner(config: settings.model)
        let warm = Int(Double(events.count) * warmup)
        let step = PrequentialStep(weights: weights)
        for e in events[..<warm] { step.apply(e, to: &learner) }
        logger.info(
            "warm-up done",
            metadata: [
                "events": "\(warm)", "users": "\(learner.users.count)",
                "items": "\(learner.items.count)",
            ]
        )

        let live = LiveLearner(learner)
        let status = ServeStatus()
        let metrics = StreamRecMetrics(recallK: k)
        metrics.bootstrapGlobalMetricsSystem()
        let feeder = DemoReplayFeeder(
            events: events,
            startAt: warm,
            eventsPerSecond: rate,
            learner: live,
            status: status,
            metrics: metrics,
            tracker: OnlineRecallTracker(k: k, windowSize: recallWindow, sampling: .everyNth(recallSampleEvery)),
            weights: weights
        )
        let server = OperationsServer(
            configuration: HTTPConfig(host: host, port: port, maxIdBytes: settings.limits.maxIdBytes),
            learner: live,
            status: status,
            metrics: metrics,
            readiness: ReadinessPolicy(maxTotalLag: maxLag),
            logger: logger,
            onServerRunning: { port in
                logger.info("listening", metadata: ["url": "http://\(host):\(port)/"])
                // Unbuffered, so scripts waiting for this line see it at once.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)/\n".utf8))
            }
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server), .init(service: feeder)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
