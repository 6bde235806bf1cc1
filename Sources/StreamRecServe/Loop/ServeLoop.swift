import Foundation
import Logging
import StreamRecCore
import StreamRecKafka

/// What the serve loop is given: its configuration and the shared state it publishes to. The loop
/// never sees the ``StreamingLearnerService`` that started it.
struct ServeEnvironment: Sendable {
    var config: ServeConfig
    var learner: LiveLearner
    var status: ServeStatus
    var metrics: StreamRecMetrics
    var logger: Logger
    var watchdog: ShutdownWatchdog
    var stop: StopFlag
    /// nil in production: see ``ServeLoopHook``.
    var hook: (any ServeLoopHook)? = nil
}

/// The body of ``StreamingLearnerService``: one thread, one consumer, one producer. Poll a batch, learn
/// it (``BatchLearner``), rank and queue the touched users' lists (``RefreshCoalescer``, ``ListRanker``),
/// send (``OutputSink``), snapshot when due (``SnapshotScheduler``), keep partitions and lag
/// (``PartitionBook``) and the live view's samples (``StatusSampler``) up to date. Consumer lifecycle
/// and rebalances: `ServeLoop+Kafka.swift`; start-up: ``ServeStartup``.
final class ServeLoop: @unchecked Sendable {
    // @unchecked: confined to the learner thread, except the rebalance callbacks, which librdkafka
    // invokes from inside `poll` on this same thread.
    let env: ServeEnvironment
    var config: ServeConfig { env.config }
    var logger: Logger { env.logger }
    let directoryLock: SnapshotDirectoryLock
    let snapshots: SnapshotScheduler
    let partitions: PartitionBook
    let output: OutputSink
    var batchLearner: BatchLearner
    var refresh: RefreshCoalescer
    var ranker: ListRanker
    var due: [RefreshCoalescer.Due] = []
    var consumer: KafkaConsumer!
    /// State kept beside the learner (changelog, item sync): see ``LoopParticipant``.
    var participants: [any LoopParticipant] = []
    var kafkaErrorLog = LogRateLimiter(burst: 10, intervalSeconds: 10)
    var consumerRecreatedAt: [UInt64] = []
    /// The newest snapshot whose every step (file, participants' topics) is durable, and the events its
    /// learner had learned: what a lost revocation rolls back to (``rollBack(lost:)``).
    var lastDurable: (path: String, events: Int64)?
    /// A rollback inside a rebalance callback (which can't throw) failed: stops the loop at its next turn.
    var rollbackFailure: (any Error)?
    /// A rebalance callback ran inside the current poll, and the start offsets the last assignment chose.
    var rebalancedDuringPoll = false
    var assignedStart: [TopicPartition: Int64] = [:]

    init(_ env: ServeEnvironment) throws {
        self.env = env
        let config = env.config
        let store = try SnapshotStore(directory: config.snapshots.directory, retain: config.snapshots.retain)
        directoryLock = try SnapshotDirectoryLock(directory: store.directory)
        try SnapshotIdentity.claim(
            directory: store.directory,
            group: config.kafka.groupID,
            topics: config.kafka.eventTopics
        )
        snapshots = SnapshotScheduler(
            store: store,
            policy: config.snapshots,
            status: env.status,
            metrics: env.metrics,
            logger: env.logger
        )
        partitions = PartitionBook(status: env.status, metrics: env.metrics, logger: env.logger)
        output = try OutputSink(
            topics: .init(
                recommendations: config.kafka.recommendationsTopic,
                deadLetters: config.kafka.deadLetterTopic
            ),
            kafkaConfig: config.producerKafkaConfig,
            status: env.status,
            metrics: env.metrics,
            logger: env.logger,
            stop: env.stop
        )
        batchLearner = BatchLearner(config: config, metrics: env.metrics, logger: env.logger)
        refresh = RefreshCoalescer(minRefreshIntervalMillis: config.minRefreshIntervalMillis)
        ranker = ListRanker(k: config.k, metrics: env.metrics)
        participants = try Self.makeParticipants(env)
    }

    func run() throws {
        let startup = ServeStartup(config: config, learner: env.learner, status: env.status, logger: logger)
        let loaded = try startup.restoreSnapshot(from: snapshots.store, into: partitions)
        let restored = loaded != nil
        if !restored { partitions.startFromBeginningWithoutSnapshot() }
        if let loaded, let path = env.status.current.loadedFrom { lastDurable = (path, loaded.learner.counters.events) }
        for participant in participants { try participant.restored(loaded, learner: env.learner) }
        // A restored index is kept (it is snapshot state); otherwise built now if the catalog is large enough.
        let ranking = config.ranking
        env.learner.update { $0.setRanking($0.config.ranker == .mf ? ranking : .exact) }
        if config.kafka.createTopics { startup.createTopics() }
        consumer = try makeConsumer()
        if !restored { try startup.checkMissingSnapshot(consumer: consumer, directory: snapshots.store.directory) }
        try consumer.subscribe(topics: config.kafka.eventTopics)
        env.status.update { $0.started = true }
        logger.info(
            "memory bound: \(MemoryBound(config.model).description)",
            metadata: [
                "max_users": "\(config.model.maxUsers)", "max_items": "\(config.model.maxItems)",
                "max_seen_per_user": "\(config.model.maxSeenPerUser)",
            ]
        )
        logger.info(
            "serving",
            metadata: [
                "topics": "\(config.kafka.eventTopics.joined(separator: ","))",
                "recommendations": "\(config.kafka.recommendationsTopic)", "group": "\(config.kafka.groupID)",
                "kafka": "\(config.consumerKafkaConfig)",
            ]
        )
        do {
            try loop()
        } catch {
            // Fatal (e.g. the idempotent producer lost its guarantees): keep what is durable, leave the
            // group so partitions move on, and let the supervisor restart us from the last snapshot.
            logger.critical("stopping on fatal error: \(error)")
            env.watchdog.arm(reason: "fatal error")
            waitForSnapshot()
            try? consumer.close()
            for participant in participants { participant.close() }
            throw error
        }
        env.watchdog.arm(reason: "learner loop ended")
        try shutdown()
    }

    func loop() throws {
        var lastMessageNanos = DispatchTime.now().uptimeNanoseconds
        var sampler = StatusSampler(status: env.status, now: lastMessageNanos)
        var lastLagQueryNanos: UInt64 = 0
        while !env.stop.isSet {
            guard var batch = try poll() else { continue }
            if let rollbackFailure { throw rollbackFailure }
            if rebalancedDuringPoll {
                rebalancedDuringPoll = false
                if !batch.isEmpty {
                    try realignAfterRebalance()
                    batch = []
                }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            for participant in participants { try participant.tick(learner: env.learner, now: now) }
            if !batch.isEmpty {
                lastMessageNanos = now
                learn(batch)
            }
            flushRefreshes(now: now, force: false)
            try output.send()
            output.serveDeliveryReports()
            if let hook = env.hook {
                hook.afterDeliveries(
                    eventsConsumed: env.status.current.eventsConsumed,
                    producer: output.producer,
                    consumer: consumer
                )
            }
            try output.recoverFromFatalError()
            requeueFailedDeliveries()
            commit(snapshots.collect())
            snapshots.updateHealth(now: now)
            if snapshots.isDue(now: now) {
                snapshot(reason: "interval")
            } else if snapshots.mayAttempt(now: now), participants.contains(where: { $0.wantsSnapshot(now: now) }) {
                snapshot(reason: "participant")
            }
            // Lag every 5 s; every 0.5 s while a newly assigned partition's watermark is still unknown.
            if now - lastLagQueryNanos > (partitions.hasUnknownWatermark ? 500_000_000 : 5_000_000_000) {
                lastLagQueryNanos = now
                partitions.refreshLag(consumer: consumer)
            }
            sampler.tick(now: now, onlineRecall: batchLearner.tracker?.recall)
            if config.exitWhenIdleMillis > 0, now - lastMessageNanos > UInt64(config.exitWhenIdleMillis) * 1_000_000 {
                logger.info("idle for \(config.exitWhenIdleMillis) ms: stopping")
                break
            }
        }
    }

    func learn(_ batch: [KafkaMessage]) {
        let learned = batchLearner.learn(
            batch,
            learner: env.learner,
            partitions: partitions,
            refresh: &refresh,
            output: output,
            participants: participants
        )
        snapshots.eventsLearned(batch.count)
        partitions.publish(consumed: batch.count, learned: learned, onlineRecall: batchLearner.tracker?.recall)
    }

    /// Ranks and queues lists for dirty users whose refresh interval has passed (all with `force`).
    func flushRefreshes(now: UInt64, force: Bool) {
        refresh.takeDue(now: now, force: force, into: &due)
        ranker.rank(due, learner: env.learner, into: output)
    }

    /// Queues failed deliveries again: lists by marking their user dirty (re-ranked with the current
    /// model), dead letters as they were. Returns how many records failed.
    @discardableResult
    func requeueFailedDeliveries() -> Int {
        let failed = output.takeFailedDeliveries()
        guard !failed.listKeys.isEmpty else { return failed.count }
        env.learner.read { learner in
            for key in failed.listKeys {
                if let slot = learner.users.index(of: String(decoding: key, as: UTF8.self)) { refresh.markDirty(slot) }
            }
        }
        return failed.count
    }

    // MARK: Snapshots

    /// Takes a snapshot: flushes queued output (so nothing derived from events before the snapshot can
    /// be lost), captures the learner (``SnapshotScheduler/capture(_:)``: only rows changed since the last one are copied) and the offsets, then has it written
    /// durably — in the background for interval snapshots, inline when `wait` is set (shutdown,
    /// rebalance). Offsets are committed only once the file is durable.
    @discardableResult
    func snapshot(reason: String, wait: Bool = false) -> Bool {
        if wait { waitForSnapshot() } else if snapshots.inFlight { return false }
        let started = DispatchTime.now().uptimeNanoseconds
        // Interval snapshots wait briefly: during an outage the loop must stay responsive (status,
        // lag, stop requests); the snapshot is retried on the next iteration.
        guard output.flush(timeout: wait ? .seconds(30) : .seconds(5)) else { return false }
        // Lists or dead letters that failed delivery are re-sent before the snapshot may commit past them.
        if requeueFailedDeliveries() > 0 { return false }
        let position = partitions.position
        let participants = self.participants
        let snapshots = self.snapshots
        let snap = env.learner.update { learner in
            var snap = LearnerSnapshot(
                learner: snapshots.capture(&learner),
                position: position,
                createdAt: Int64(Date().timeIntervalSince1970 * 1000)
            )
            for participant in participants { participant.capturing(&snap) }
            return snap
        }
        let written = snapshots.start(snap, reason: reason, startedAt: started, wait: wait)
        return wait ? commit(written) : true
    }

    /// Commits a durable snapshot's offsets to the group. Returns whether a snapshot was written.
    @discardableResult
    func commit(_ written: (snapshot: LearnerSnapshot, path: String)?) -> Bool {
        guard let written else { return false }
        do {
            for participant in participants { try participant.durable(written.snapshot) }
            lastDurable = (written.path, written.snapshot.learner.counters.events)
        } catch {
            // The snapshot file is durable (a restart resumes from it); the group offsets wait for the next one.
            logger.error(
                "snapshot durable, but a participant failed to persist its part: offsets not committed",
                metadata: ["error": "\(error)"]
            )
            return true
        }
        do {
            try consumer.commit(written.snapshot.position.offsetsByPartition)
        } catch {
            // Harmless: restarts seek to the snapshot's offsets; the group offset only matters to others.
            logger.warning("offset commit failed (snapshot is durable)", metadata: ["error": "\(error)"])
        }
        return true
    }

    func waitForSnapshot() { commit(snapshots.waitForInFlight()) }

    // MARK: Shutdown

    /// Final snapshot, commit, leave the group. Throws (→ non-zero exit) when the final snapshot could
    /// not be made durable: the events since the last durable one will be re-read on restart, but an
    /// operator must know the disk or broker failed.
    func shutdown() throws {
        logger.info("stopping: final snapshot, commit, leave group")
        flushRefreshes(now: DispatchTime.now().uptimeNanoseconds, force: true)
        waitForSnapshot()
        var finalSnapshotFailed = false
        if snapshots.eventsSinceSnapshot > 0 {
            snapshots.retryNow()
            finalSnapshotFailed = !snapshot(reason: "shutdown", wait: true)
        }
        if config.kafka.leaveGroupOnShutdown {
            // A static member's close sends no LeaveGroup: without this its partitions would idle until
            // session.timeout.ms (Kafka) or for good (some brokers). The revoke this triggers finds nothing unsaved.
            do { try consumer.leaveGroup() } catch { logger.warning("leave group: \(error)") }
        }
        do { try consumer.close() } catch { logger.warning("consumer close: \(error)") }
        for participant in participants { participant.close() }
        do { try output.close(flushTimeout: .seconds(30)) } catch { logger.warning("producer close: \(error)") }
        if finalSnapshotFailed {
            let reason = env.status.current.lastSnapshotError ?? "producer flush failed"
            logger.critical(
                "stopped WITHOUT a final snapshot: \(snapshots.eventsSinceSnapshot) events since the last durable snapshot will be re-read on restart",
                metadata: ["error": "\(reason)"]
            )
            throw ShutdownError(description: "final snapshot failed: \(reason)")
        }
        logger.info("stopped")
    }
}

struct ShutdownError: Error, CustomStringConvertible {
    var description: String
}
