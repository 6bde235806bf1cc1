import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import StreamRecCore
import StreamRecServe
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Consume events from Kafka, learn online, and produce top-K lists to a recommendations topic.",
        discussion: """
            Settings: these flags override STREAMREC_* environment variables, which override the --config \
            YAML file (see deploy/streamrec.yaml), which overrides the defaults. A key's variable is STREAMREC_ \
            + the key in upper case with '.' as '_' (kafka.bootstrap_servers → STREAMREC_KAFKA_BOOTSTRAP_SERVERS; \
            librdkafka properties such as secrets: STREAMREC_KAFKA_PROP_SASL_PASSWORD → sasl.password). \
            Unknown keys are start-up errors. SIGTERM/SIGINT stop gracefully: the \
            in-flight batch finishes, a final snapshot is written, offsets are committed and the group is left.
            """
    )

    @Option(help: "YAML configuration file (deploy/streamrec.yaml).")
    var config: String?
    @Option(help: "Kafka bootstrap servers (host:port,...).")
    var brokers: String?
    @Option(help: "Event topics, comma-separated.")
    var topics: String?
    @Option(help: "Topic the recommendation lists are produced to.")
    var recommendationsTopic: String?
    @Option(help: "Dead-letter topic for malformed or oversized messages.")
    var deadLetterTopic: String?
    @Option(help: "Consumer group id.")
    var group: String?
    @Option(help: "Static group membership id (group.instance.id); empty for dynamic membership.")
    var instanceID: String?
    @Option(help: "Snapshot directory.")
    var snapshotDir: String?
    // Numeric options parse their value unconditionally, so `--k -5` reaches validation and gets a
    // clear range error instead of ArgumentParser's "Missing value" (it would read -5 as a flag).
    @Option(parsing: .unconditional, help: "Snapshot every N events.")
    var snapshotEvery: Int64?
    @Option(parsing: .unconditional, help: "Length of produced lists.")
    var k: Int?
    @Option(parsing: .unconditional, help: "HTTP port for health, metrics and the query API (0 disables HTTP).")
    var httpPort: Int?
    @Option(
        parsing: .unconditional,
        help: "Stop after no message arrived for this many milliseconds (batch runs, demos)."
    )
    var exitWhenIdle: Int64?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?
    @Option(help: "MF top-K search: exact | approximate (IVF item index; exact below 4096 items).")
    var ranking: RankingMode?
    @Option(
        parsing: .unconditional,
        help: "Learner threads in this process, each a group member owning some partitions (serve.learners)."
    )
    var learners: Int?

    func run() async throws {
        var flags: [String: String] = [:]
        flags["kafka.bootstrap_servers"] = brokers
        flags["kafka.event_topics"] = topics
        flags["kafka.recommendations_topic"] = recommendationsTopic
        flags["kafka.dead_letter_topic"] = deadLetterTopic
        flags["kafka.group_id"] = group
        flags["kafka.instance_id"] = instanceID
        flags["snapshots.directory"] = snapshotDir
        flags["snapshots.every_events"] = snapshotEvery.map(String.init)
        flags["serve.k"] = k.map(String.init)
        if let httpPort {
            flags["http.enabled"] = httpPort > 0 ? "true" : "false"
            flags["http.port"] = String(httpPort)
        }
        flags["serve.exit_when_idle_ms"] = exitWhenIdle.map(String.init)
        flags["logging.level"] = logLevel
        flags["serve.ranking"] = ranking?.rawValue
        flags["serve.learners"] = learners.map(String.init)
        let settings: ServeConfig
        do {
            settings = try await ServeConfig.load(
                ConfigSources(flags: flags, environment: ProcessInfo.processInfo.environment, filePath: config)
            )
        } catch {
            throw CLIError("invalid configuration: \(error)")
        }
        guard let level = Logger.Level(rawValue: settings.logLevel) else {
            throw CLIError("unknown log level '\(settings.logLevel)'")
        }
        LoggingBootstrap.bootstrap(configured: level)
        let logger = Logger(label: "streamrec.serve")
        for name in settings.ignoredEnvironment {
            logger.warning("ignoring environment variable that names no setting", metadata: ["name": "\(name)"])
        }
        let metrics = StreamRecMetrics(recallK: settings.k)
        metrics.bootstrapGlobalMetricsSystem()
        // One service per learner (serve.learners); any learner finishing (idle exit, fatal error) takes
        // the others and the HTTP server down with it.
        var learnerServices: [StreamingLearnerService] = []
        for i in 0..<settings.learners {
            var learnerLogger = logger
            if settings.learners > 1 { learnerLogger[metadataKey: "learner"] = "\(i)" }
            learnerServices.append(
                try StreamingLearnerService(
                    configuration: settings.forLearner(i),
                    metrics: metrics,
                    logger: learnerLogger
                )
            )
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = learnerServices.map {
            .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup)
        }
        let learners = LearnerGroup(learnerServices.map { LearnerGroup.Member(learner: $0.learner, status: $0.status) })
        if settings.http.enabled {
            // http.remote_lists: answer for users other instances learn from the recommendations topic.
            var remoteLists: RemoteListView?
            if settings.http.remoteLists {
                let view = RemoteListService.makeView(settings)
                services.append(.init(service: RemoteListService(configuration: settings, view: view)))
                remoteLists = view
            }
            let http = OperationsServer(
                configuration: settings.httpConfig,
                learners: learners,
                metrics: metrics,
                readiness: ReadinessPolicy(maxTotalLag: settings.http.readinessMaxLag),
                remoteLists: remoteLists,
                logger: Logger(label: "streamrec.http")
            )
            services.append(.init(service: http))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
