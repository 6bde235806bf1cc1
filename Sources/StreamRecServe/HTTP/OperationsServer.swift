public import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle

/// The operations HTTP surface (health, readiness, metrics, query API, live view) as a ServiceLifecycle
/// `Service`, so `streamrec serve` runs it in the same `ServiceGroup` as the consumer loop and both shut
/// down together on SIGTERM.
///
/// It reads the shared ``LiveLearner`` and ``ServeStatus`` and never writes them: queries hold the
/// learner's lock for one top-K, so they cannot stall learning for long.
public struct OperationsServer: Service {
    public let configuration: HTTPConfig
    public let api: OperationsAPI
    public let logger: Logger
    private let onServerRunning: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - onServerRunning: called with the bound port once the socket listens (useful with port 0).
    public init(
        configuration: HTTPConfig,
        learner: LiveLearner,
        status: ServeStatus,
        metrics: StreamRecMetrics,
        readiness: ReadinessPolicy,
        remoteLists: RemoteListView? = nil,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.init(
            configuration: configuration,
            learners: LearnerGroup(learner: learner, status: status),
            metrics: metrics,
            readiness: readiness,
            remoteLists: remoteLists,
            logger: logger,
            onServerRunning: onServerRunning
        )
    }

    public init(
        configuration: HTTPConfig,
        learners: LearnerGroup,
        metrics: StreamRecMetrics,
        readiness: ReadinessPolicy,
        remoteLists: RemoteListView? = nil,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        api = OperationsAPI(
            configuration: configuration,
            learners: learners,
            metrics: metrics,
            readiness: readiness,
            remoteLists: remoteLists
        )
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    /// The Hummingbird application serving ``OperationsAPI/makeRouter()`` on the configured address.
    public func makeApplication() -> some ApplicationProtocol {
        let callback = onServerRunning
        return Application(
            router: api.makeRouter(),
            server: .http1(
                configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeoutSeconds * 1e9)))
            ),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "streamrec"
            ),
            onServerRunning: { channel in await callback(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Serves until cancelled or until graceful shutdown is triggered on the enclosing `ServiceGroup`.
    public func run() async throws {
        logger.info(
            "operations HTTP API starting",
            metadata: [
                "host": .string(configuration.host), "port": .stringConvertible(configuration.port),
            ]
        )
        try await makeApplication().run()
    }
}
