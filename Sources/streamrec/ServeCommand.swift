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
            Settings come from --config (TOML, see deploy/streamrec.toml), then STREAMREC_* environment \
            variables (e.g. STREAMREC_KAFKA_BOOTSTRAP_SERVERS; librdkafka properties such as secrets as \
            STREAMREC_KAFKA_PROP_SASL_PASSWORD), then these flags. SIGTERM/SIGINT stop gracefully: the \
            in-flight batch finishes, a final snapshot is written, offsets are committed and the group is left.
            """
    )

    @Option(help: "TOML configuration file.")
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
    @Option(parsing: .unconditional, help: "Stop after no message arrived for this many milliseconds (batch runs, demos).")
    var exitWhenIdle: Int64?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?
    @Option(help: "MF top-K search: exact | approximate (IVF item index; exact below 4096 items).")
    var ranking: RankingMode?

    func run() async throws {
        var settings = try ServeConfig.load(path: config, environment: ProcessInfo.processInfo.environment)
        if let brokers { settings.kafka.bootstrapServers = brokers }
        if let topics { settings.kafka.eventTopics = topics.split(separator: ",").map(String.init) }
        if let recommendationsTopic { settings.kafka.recommendationsTopic = recommendationsTopic }
        if let deadLetterTopic { settings.kafka.deadLetterTopic = deadLetterTopic }
        if let group { settings.kafka.groupID = group }
        if let instanceID { settings.kafka.instanceID = instanceID.isEmpty ? nil : instanceID }
        if let snapshotDir { settings.snapshots.directory = snapshotDir }
        if let snapshotEvery { settings.snapshots.everyEvents = snapshotEvery }
        if let k { settings.k = k }
        if let httpPort {
            settings.http.enabled = httpPort > 0
            settings.http.port = httpPort
        }
        if let exitWhenIdle { settings.exitWhenIdleMillis = exitWhenIdle }
        if let logLevel { settings.logLevel = logLevel }
        if let ranking { settings.ranking = ranking }
        // Flags override file and environment, so the merged result is checked once more.
        do { try settings.validate() } catch { throw CLIError("invalid configuration: \(error)") }
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
        let learnerService = try StreamingLearnerService(configuration: settings, metrics: metrics, logger: logger)
        // The learner finishing (idle exit, fatal error) takes the HTTP server down with it.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: learnerService, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if settings.http.enabled {
            let http = OperationsServer(
                configuration: HTTPConfig(host: settings.http.host, port: settings.http.port, defaultK: settings.k,
                                                 idleTimeoutSeconds: settings.http.idleTimeoutSeconds),
                learner: learnerService.learner, status: learnerService.status, metrics: metrics,
                readiness: ReadinessPolicy(maxTotalLag: settings.http.readinessMaxLag), logger: Logger(label: "streamrec.http"))
            services.append(.init(service: http))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
