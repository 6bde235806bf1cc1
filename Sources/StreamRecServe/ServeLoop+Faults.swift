import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import Synchronization

/// What the producer's delivery callback hands to the learner thread: records librdkafka gave up on
/// (purged after a fatal error, timed out in an outage). The callback runs inside poll/flush on the
/// learner thread, but as a `@Sendable` closure, hence the lock.
final class FaultState: Sendable {
    struct Failed: Sendable {
        var topic: String
        var key: [UInt8]?
        var value: [UInt8]
    }
    let failedDeliveries = Mutex<[Failed]>([])
}

struct ShutdownError: Error, CustomStringConvertible {
    var description: String
}

/// Fault handling of the serve loop: producer re-creation, failed-delivery re-sends, broker
/// reachability, snapshot failure accounting and backoff, and the missing-snapshot policy.
extension ServeLoop {
    // MARK: Producer

    func makeProducer() throws -> KafkaProducer {
        let faults = self.faults, status = service.status
        return try KafkaProducer(configuration: config.producerKafkaConfig, deliveryHandler: { report in
            guard report.error != nil, let value = report.value else { return }
            faults.failedDeliveries.withLock { $0.append(.init(topic: report.topic, key: report.key, value: value)) }
        }, onError: { error in
            // Served inside flush too, so /stats and /readyz see the outage even while a flush waits.
            if error.code == .allBrokersDown { status.update { $0.brokerConnected = false } }
        }, logger: logger)
    }

    /// librdkafka's documented recovery from a fatal producer error (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER
    /// after a broker outage broke idempotence): purge, destroy, create a new producer. The purged
    /// records come back as failed deliveries and are re-sent: lists are re-derived from the current
    /// model (fresher than what was lost), dead letters are re-sent verbatim. More than 5 re-creations
    /// within a minute means something else is wrong: the error is rethrown (supervisor restart).
    func recreateProducer(after error: KafkaError) throws {
        let now = DispatchTime.now().uptimeNanoseconds
        producerRecreatedAt = producerRecreatedAt.filter { now &- $0 < 60_000_000_000 } + [now]
        guard producerRecreatedAt.count <= 5 else {
            logger.critical("producer fatal error repeats after re-creation: giving up", metadata: ["error": "\(error)"])
            throw error
        }
        logger.error("producer fatal error: purging and re-creating the producer; undelivered lists will be re-sent",
                     metadata: ["error": "\(error)"])
        let old = producer!
        old.abandon()
        producer = try makeProducer()
        // rd_kafka_destroy may wait for broker threads: release the old handle off the learner thread.
        Thread.detachNewThread { Thread.sleep(forTimeInterval: 0.1); withExtendedLifetime(old) {} }
        service.status.update { $0.producerRecreations += 1 }
    }

    func makeConsumer() throws -> KafkaConsumer {
        let handler = KafkaConsumer.RebalanceHandler(
            onAssign: { [unowned self] partitions in self.assigned(partitions) },
            onRevoke: { [unowned self] partitions, lost in self.revoked(partitions, lost: lost) })
        return try KafkaConsumer(
            configuration: config.consumerKafkaConfig, rebalanceHandler: handler,
            onEvent: { [weak self] event in self?.consumerEvent(event) }, logger: logger)
    }

    /// A fatal consumer error (seen after a broker restart: FENCED_INSTANCE_ID for our own static member,
    /// which noida-db forgets; with Apache Kafka it means a second process with the same
    /// `group.instance.id`): close the consumer and join again with a new one. The learner keeps its
    /// in-memory model and next offsets, so the new assignment seeks exactly where learning stopped (no
    /// event lost or learned twice). More than 3 re-creations within a minute means a real duplicate
    /// member (two processes fencing each other): the error is rethrown (supervisor restart).
    func recreateConsumer(after error: KafkaError) throws {
        let now = DispatchTime.now().uptimeNanoseconds
        consumerRecreatedAt = consumerRecreatedAt.filter { now &- $0 < 60_000_000_000 } + [now]
        guard consumerRecreatedAt.count <= 3 else {
            logger.critical("consumer fatal error repeats after re-creation: giving up", metadata: ["error": "\(error)"])
            throw error
        }
        logger.error("consumer fatal error: closing and re-creating the consumer; learning resumes at the in-memory offsets",
                     metadata: ["error": "\(error)"])
        try? consumer.close()
        consumer = try makeConsumer()
        try consumer.subscribe(topics: config.kafka.eventTopics)
        service.status.update { $0.consumerRecreations += 1 }
    }

    /// Queues failed deliveries again: recommendation lists by marking their user dirty (re-ranked with
    /// the current model), dead letters as they were. Returns how many records failed.
    @discardableResult
    func requeueFailedDeliveries() -> Int {
        let failed = faults.failedDeliveries.withLock { f in defer { f.removeAll() }; return f }
        guard !failed.isEmpty else { return 0 }
        var lists = 0, dead = 0
        service.learner.read { learner in
            for f in failed {
                if f.topic == config.kafka.deadLetterTopic {
                    resendQueue.append((f.key, f.value))
                    dead += 1
                } else if let key = f.key, let slot = learner.users.index(of: String(decoding: key, as: UTF8.self)) {
                    let s = Int(slot)
                    if s < dirtyFlags.count, !dirtyFlags[s] {
                        dirtyFlags[s] = true
                        dirtySlots.append(slot)
                    }
                    lists += 1
                }
            }
        }
        logger.warning("re-sending records that failed delivery", metadata: ["lists": "\(lists)", "dead_letters": "\(dead)"])
        return failed.count
    }

    /// Reachability from the watermark queries (a busy learner keeps draining prefetched messages during
    /// an outage, so consuming proves nothing).
    func noteBroker(reachable: Bool) {
        let was = service.status.current.brokerConnected
        guard was != reachable else { return }
        service.status.update { $0.brokerConnected = reachable }
        if reachable {
            logger.info("broker reachable")
        } else {
            logger.warning("broker unreachable: /readyz reports not ready until it is back")
        }
    }

    // MARK: Snapshots

    /// Counts the failure, publishes it, and backs off (1 s doubling to 60 s) so a full disk costs a
    /// few attempts a minute, not ten a second.
    func snapshotFailed(_ error: SnapshotError) {
        snapshotBackoffSeconds = min(60, max(1, snapshotBackoffSeconds * 2))
        nextSnapshotAttemptNanos = DispatchTime.now().uptimeNanoseconds + UInt64(snapshotBackoffSeconds * 1e9)
        service.status.update {
            $0.snapshotFailures += 1
            $0.lastSnapshotError = "\(error)"
        }
        if case .log(let suppressed) = snapshotErrorLog.admit() {
            logger.error("snapshot failed; offsets stay at the last durable snapshot", metadata: [
                "error": "\(error)", "retry_in_s": "\(snapshotBackoffSeconds)", "suppressed_since_last": "\(suppressed)",
            ])
        }
    }

    func snapshotSucceeded() {
        lastDurableNanos = DispatchTime.now().uptimeNanoseconds
        if snapshotBackoffSeconds > 0 || service.status.current.lastSnapshotError != nil {
            logger.info("snapshots durable again")
            service.status.update { $0.lastSnapshotError = nil; $0.snapshotOverdue = false }
        }
        snapshotBackoffSeconds = 0
        nextSnapshotAttemptNanos = 0
    }

    /// Not ready once snapshots fail and nothing has been durable for `snapshots.max_unsaved_seconds`.
    func updateSnapshotHealth(now: UInt64) {
        let failing = service.status.current.lastSnapshotError != nil
        let overdue = failing && Double(now &- lastDurableNanos) / 1e9 > config.snapshots.maxUnsavedSeconds
        if overdue != service.status.current.snapshotOverdue {
            service.status.update { $0.snapshotOverdue = overdue }
            if overdue { logger.critical("no durable snapshot for over \(config.snapshots.maxUnsavedSeconds) s: not ready") }
        }
    }

    // MARK: Start-up

    /// No snapshot, but the group committed offsets: the snapshot directory was lost (new volume,
    /// wiped disk). Starting at the committed offsets would silently drop everything learned before
    /// them, so `rebuild` re-reads the retained log from the beginning (``assigned(_:)``) and `refuse`
    /// stops with an error.
    func checkMissingSnapshot() throws {
        var committed: [String] = []
        for topic in config.kafka.eventTopics {
            guard let partitions = try? consumer.partitions(of: topic, timeout: .seconds(10)),
                  let offsets = try? consumer.committed(partitions) else { continue }
            for (tp, offset) in offsets where offset >= 0 { committed.append("\(tp)@\(offset)") }
        }
        guard !committed.isEmpty else { return }
        let detail = "no snapshot in \(store.directory), but group '\(config.kafka.groupID)' has committed offsets "
            + "(\(committed.sorted().joined(separator: ","))): the snapshot directory was probably lost"
        switch config.snapshots.onMissing {
        case .refuse:
            throw ServeConfigError(detail + "; refusing to start (snapshots.on_missing = \"refuse\"). Restore the "
                                     + "directory, or set on_missing = \"rebuild\" to re-learn from the earliest retained offsets")
        case .rebuild:
            logger.warning("\(detail); rebuilding the model from the earliest retained offsets (snapshots.on_missing = \"rebuild\")")
        }
    }
}
