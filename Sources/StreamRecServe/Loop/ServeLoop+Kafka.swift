import Foundation
import Logging
import StreamRecCore
import StreamRecKafka

/// The consumer side of the serve loop: polling, creating and re-creating the consumer, and the
/// rebalance callbacks (which librdkafka runs inside `poll`, on the learner thread).
extension ServeLoop {
    /// One batch, or nil after a recoverable poll failure (already handled: retried after a pause, or
    /// the consumer re-created).
    func poll() throws -> [KafkaMessage]? {
        do {
            return try consumer.poll(maxMessages: config.batchSize, timeout: .milliseconds(100))
        } catch let error as KafkaError where !error.isFatal {
            // e.g. a failed rebalance step: librdkafka recovers on its own; don't spin on it.
            logger.error("poll failed, retrying", metadata: ["error": "\(error)"])
            Thread.sleep(forTimeInterval: 1)
            return nil
        } catch let error as KafkaError {
            try recreateConsumer(after: error)
            return nil
        }
    }

    func makeConsumer() throws -> KafkaConsumer {
        let handler = KafkaConsumer.RebalanceHandler(
            onAssign: { [unowned self] partitions in self.assigned(partitions) },
            onRevoke: { [unowned self] partitions, lost in self.revoked(partitions, lost: lost) }
        )
        return try KafkaConsumer(
            configuration: config.consumerKafkaConfig,
            rebalanceHandler: handler,
            onEvent: { [weak self] event in self?.consumerEvent(event) },
            logger: logger
        )
    }

    /// A fatal consumer error (FENCED_INSTANCE_ID for our own static member after a restart of a broker
    /// that forgets static members; with Apache Kafka it means a second process with the same
    /// `group.instance.id`): close the consumer and join again with a new one. The learner keeps its
    /// in-memory model and next offsets, so the new assignment seeks exactly where learning stopped (no
    /// event lost or learned twice). More than 3 re-creations within a minute means a real duplicate
    /// member (two processes fencing each other): the error is rethrown (supervisor restart).
    func recreateConsumer(after error: KafkaError) throws {
        let now = DispatchTime.now().uptimeNanoseconds
        consumerRecreatedAt = consumerRecreatedAt.filter { now &- $0 < 60_000_000_000 } + [now]
        guard consumerRecreatedAt.count <= 3 else {
            logger.critical(
                "consumer fatal error repeats after re-creation: giving up",
                metadata: ["error": "\(error)"]
            )
            throw error
        }
        logger.error(
            "consumer fatal error: closing and re-creating the consumer; learning resumes at the in-memory offsets",
            metadata: ["error": "\(error)"]
        )
        try? consumer.close()
        consumer = try makeConsumer()
        try consumer.subscribe(topics: config.kafka.eventTopics)
        env.status.update { $0.consumerRecreations += 1 }
    }

    /// Hands over cleanly: what we learned from these partitions becomes durable and committed, so the
    /// next owner starts where we stopped. Lost partitions already belong to someone else, who continues
    /// from their last durable checkpoint: everything learned since is rolled back (``rollBack(lost:)``).
    func revoked(_ revoked: [TopicPartition], lost: Bool) {
        logger.info(
            "partitions revoked",
            metadata: ["partitions": "\(revoked.map(\.description).joined(separator: ","))", "lost": "\(lost)"]
        )
        rebalancedDuringPoll = true
        if lost {
            waitForSnapshot()
            rollBack(lost: revoked)
        } else if snapshots.hasUnsavedWork {
            snapshot(reason: "rebalance", wait: true)
        }
        partitions.revoked(revoked)
        for participant in participants { participant.revoked(revoked, lost: lost, learner: env.learner) }
    }

    /// Start offsets for newly assigned partitions: the partition book's, then any participant that
    /// restored a partition's state moves its start to where that state ends.
    func assigned(_ assigned: [TopicPartition]) -> [TopicPartition: Int64] {
        rebalancedDuringPoll = true
        var start = partitions.assigned(assigned)
        if !participants.isEmpty {
            let before = start
            for participant in participants { participant.assigned(assigned, start: &start, learner: env.learner) }
            for (tp, next) in start where before[tp] != next && next >= 0 { partitions.startAt(tp, next: next) }
        }
        for tp in assigned { assignedStart[tp] = start[tp] }
        return start
    }

    /// A poll that ran a rebalance callback may also have returned messages fetched before it: of
    /// partitions since revoked (their next owner starts at the hand-over or checkpoint offset, so
    /// learning them here would count them twice) or from positions a rollback undid. Such a batch is
    /// dropped and every assigned partition sought back to where learning stands (the partition book's
    /// position; for a partition not consumed yet, the start its assignment chose, else the group's
    /// committed offset), so nothing is skipped either.
    func realignAfterRebalance() throws {
        let positions = partitions.position.offsetsByPartition
        var seek: [TopicPartition: Int64] = [:]
        for tp in try consumer.assignment() {
            seek[tp] =
                positions[tp] ?? assignedStart[tp].flatMap { $0 >= 0 || $0 == KafkaOffset.beginning ? $0 : nil }
                ?? KafkaOffset.stored
        }
        logger.info(
            "rebalance during a poll: its batch is dropped and re-read",
            metadata: ["partitions": "\(seek.keys.sorted().map(\.description).joined(separator: ","))"]
        )
        if !seek.isEmpty { try consumer.seek(seek) }
    }

    func consumerEvent(_ event: KafkaConsumer.Event) {
        if case .error(let error) = event {
            let down = error.code == .allBrokersDown || error.code == .transport
            if down { env.status.update { $0.brokerConnected = false } }
            if case .log(let suppressed) = kafkaErrorLog.admit() {
                logger.warning(
                    "kafka: \(error)",
                    metadata: ["retriable": "\(error.isRetriable)", "suppressed_since_last": "\(suppressed)"]
                )
            }
        }
    }
}
