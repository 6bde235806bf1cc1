import Foundation
public import Logging
public import ServiceLifecycle
import StreamRecCore
import StreamRecKafka
import Synchronization

/// `streamrec serve`: consumes interaction events from Kafka, feeds the online learner, produces each
/// touched user's fresh top-K to the recommendations topic (keyed by user, so a compacted topic keeps
/// the latest list per user), dead-letters bad input, and snapshots model + offsets.
///
/// Exactly-once learning across restarts: the snapshot holds the model and the next offset per
/// partition; offsets are committed to the group only after the snapshot is durable, and on start
/// (or on assignment) each partition is sought to the snapshot's offset, not the group's. A learner
/// killed at any point resumes from its newest good snapshot and re-applies exactly the events after
/// it, so the model is bit-identical to an uninterrupted run (per-partition order is Kafka's; with
/// several partitions the interleaving of partitions is not reproducible, so exact reproducibility
/// needs one partition per learner instance).
///
/// The loop runs on its own thread: it is CPU-bound and calls librdkafka's blocking poll, neither of
/// which belongs on Swift's cooperative pool.
public final class StreamingLearnerService: Service, Sendable {
    public let configuration: ServeConfig
    public let learner: LiveLearner
    public let status: ServeStatus
    public let metrics: StreamRecMetrics
    let logger: Logger
    /// Bounds the time from a stop request to exit (``ServeConfig/shutdownTimeoutSeconds``).
    let watchdog: ShutdownWatchdog
    /// Test hooks: fatal Kafka client errors raised after a number of events.
    let faultInjection = FaultInjection()

    public init(
        configuration: ServeConfig,
        learner: LiveLearner? = nil,
        status: ServeStatus = ServeStatus(),
        metrics: StreamRecMetrics? = nil,
        logger: Logger = Logger(label: "streamrec.serve")
    ) throws {
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
                faults: faultInjection,
                stop: stop
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

/// Test hooks: once this many events were consumed (≥ 0), the loop raises a fatal error on its producer
/// or consumer (once each). Counted in events, not time, so a test is independent of how its threads get
/// scheduled.
final class FaultInjection: Sendable {
    let producerFatalErrorAt = Atomic<Int64>(-1)
    let consumerFatalErrorAt = Atomic<Int64>(-1)

    func fire(eventsConsumed: Int64, producer: KafkaProducer, consumer: KafkaConsumer) {
        let p = producerFatalErrorAt.load(ordering: .relaxed)
        if p >= 0, eventsConsumed >= p {
            producerFatalErrorAt.store(-1, ordering: .relaxed)
            producer.triggerFatalErrorForTesting(reason: "injected by a test")
        }
        let c = consumerFatalErrorAt.load(ordering: .relaxed)
        if c >= 0, eventsConsumed >= c {
            consumerFatalErrorAt.store(-1, ordering: .relaxed)
            consumer.triggerFatalErrorForTesting(reason: "injected by a test")
        }
    }
}
