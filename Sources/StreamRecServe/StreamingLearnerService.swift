import Foundation
public import Logging
public import ServiceLifecycle
import StreamRecCore
import StreamRecKafka
import Synchronization

/// `streamrec serve`: Kafka events in, each touched user's fresh top-K out to the recommendations topic
/// (keyed by user, so compaction keeps the latest list), bad input dead-lettered, model + offsets
/// snapshotted. Offsets are committed only after the snapshot holding them is durable, and assigned
/// partitions are sought to the snapshot's offsets, not the group's: a learner killed anywhere re-applies
/// exactly the events after its newest good snapshot (bit-identical with one partition per learner).
/// The loop has its own thread: it is CPU-bound and blocks in librdkafka's poll.
public final class StreamingLearnerService: Service, Sendable {
    public let configuration: ServeConfig
    public let learner: LiveLearner
    public let status: ServeStatus
    public let metrics: StreamRecMetrics
    let logger: Logger
    /// Bounds the time from a stop request to exit (``ServeConfig/shutdownTimeoutSeconds``).
    let watchdog: ShutdownWatchdog
    /// nil in production; tests inject faults through it (``ServeLoopHook``).
    let loopHook: (any ServeLoopHook)?

    public convenience init(
        configuration: ServeConfig,
        learner: LiveLearner? = nil,
        status: ServeStatus = ServeStatus(),
        metrics: StreamRecMetrics? = nil,
        logger: Logger = Logger(label: "streamrec.serve")
    ) throws {
        try self.init(
            configuration: configuration,
            learner: learner,
            status: status,
            metrics: metrics,
            logger: logger,
            loopHook: nil
        )
    }

    /// With a hook the loop calls once per pass: for tests (fault injection), hence `package`.
    package init(
        configuration: ServeConfig,
        learner: LiveLearner? = nil,
        status: ServeStatus = ServeStatus(),
        metrics: StreamRecMetrics? = nil,
        logger: Logger = Logger(label: "streamrec.serve"),
        loopHook: (any ServeLoopHook)?
    ) throws {
        self.loopHook = loopHook
        self.configuration = configuration
        self.learner = try learner ?? LiveLearner(OnlineLearner(config: configuration.model))
        self.status = status
        self.metrics = metrics ?? StreamRecMetrics(recallK: configuration.k)
        self.logger = logger
        watchdog = ShutdownWatchdog(seconds: configuration.shutdownTimeoutSeconds, logger: logger)
    }

    public func run() async throws {
        let stop = StopFlag()
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread { [self] in
                        // Disarmed only after the loop (and with it the Kafka clients, whose destroy can
                        // hang) has been released: `runLoop` owns the only reference.
                        let result = Result { try runLoop(stop: stop) }
                        watchdog.disarm()
                        continuation.resume(with: result)
                    }
                    thread.name = "streamrec-learner"
                    thread.start()
                }
            } onGracefulShutdown: {
                stop.set()
                self.watchdog.arm(reason: "graceful shutdown requested")
            }
        } onCancel: {
            stop.set()
            self.watchdog.arm(reason: "cancelled")
        }
    }
}

extension StreamingLearnerService {
    /// Runs the loop; the loop and its clients are released when this returns.
    func runLoop(stop: StopFlag) throws {
        let loop = try ServeLoop(
            ServeEnvironment(
                config: configuration,
                learner: learner,
                status: status,
                metrics: metrics,
                logger: logger,
                watchdog: watchdog,
                stop: stop,
                hook: loopHook
            )
        )
        try loop.run()
    }
}

final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}
