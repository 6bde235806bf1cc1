import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import Synchronization

/// Everything the learner produces: recommendation lists and dead letters, through one idempotent
/// producer. Queues them per poll, sends with retry (a full queue during an outage blocks here:
/// backpressure instead of unbounded memory), re-creates the producer after a fatal error, and collects
/// records librdkafka gave up on so they are sent again.
///
/// Confined to the learner thread, except ``FailedDeliveries``, filled by the delivery callback.
final class OutputSink {
    /// Records librdkafka gave up on (purged after a fatal error, timed out in an outage). The callback
    /// runs inside poll/flush on the learner thread, but as a `@Sendable` closure, hence the lock.
    final class FailedDeliveries: Sendable {
        struct Failed: Sendable {
            var topic: String
            var key: [UInt8]?
            var value: [UInt8]
        }
        let records = Mutex<[Failed]>([])
    }

    struct Topics: Sendable {
        var recommendations: String
        var deadLetters: String
    }

    let topics: Topics
    private let kafkaConfig: KafkaConfig
    private let status: ServeStatus
    private let metrics: StreamRecMetrics
    private let logger: Logger
    private let stop: StopFlag
    private(set) var producer: KafkaProducer!
    private let failed = FailedDeliveries()
    /// Queued lists back to back in one reused buffer (key bytes, then the JSON value) with their
    /// boundaries: no allocation per list once the buffers have grown to a batch's size.
    private var listBytes: [UInt8] = []
    private var listEnds: [(keyEnd: Int, end: Int)] = []
    /// Dead letters keep the source message's key, so they land in the same DLQ partition order per key
    /// and can be replayed to the source topic as they were.
    private var deadLetters: [(key: [UInt8]?, record: DeadLetterRecord)] = []
    /// Dead letters whose delivery failed, sent again as they were.
    private var resendQueue: [(key: [UInt8]?, value: [UInt8])] = []
    private var deadLetterLog = LogRateLimiter(burst: 10, intervalSeconds: 10)
    private var kafkaErrorLog = LogRateLimiter(burst: 10, intervalSeconds: 10)
    private var recreatedAt: [UInt64] = []

    init(
        topics: Topics,
        kafkaConfig: KafkaConfig,
        status: ServeStatus,
        metrics: StreamRecMetrics,
        logger: Logger,
        stop: StopFlag
    ) throws {
        self.topics = topics
        self.kafkaConfig = kafkaConfig
        self.status = status
        self.metrics = metrics
        self.logger = logger
        self.stop = stop
        producer = try makeProducer()
    }

    private func makeProducer() throws -> KafkaProducer {
        let failed = self.failed
        let status = self.status
        return try KafkaProducer(
            configuration: kafkaConfig,
            deliveryHandler: { report in
                guard report.error != nil, let value = report.value else { return }
                failed.records.withLock { $0.append(.init(topic: report.topic, key: report.key, value: value)) }
            },
            onError: { error in
                // Served inside flush too, so /stats and /readyz see the outage even while a flush waits.
                if error.code == .allBrokersDown { status.update { $0.brokerConnected = false } }
            },
            logger: logger
        )
    }

    // MARK: Queueing

    /// Queues one list: `key`'s bytes, then whatever `encode` appends (the JSON document).
    func enqueueList(key: String, encode: (inout [UInt8]) -> Void) {
        listBytes.append(contentsOf: key.utf8)
        let keyEnd = listBytes.count
        encode(&listBytes)
        listEnds.append((keyEnd, listBytes.count))
    }

    /// Queues `message` for the dead-letter topic with `reason`; counted, and logged at a bounded rate.
    func deadLetter(_ message: KafkaMessage, reason: String) {
        deadLetters.append(
            (
                message.key,
                DeadLetterRecord(
                    reason: reason,
                    sourceTopic: message.topic,
                    sourcePartition: message.partition,
                    sourceOffset: message.offset,
                    timestamp: message.timestamp ?? Int64(Date().timeIntervalSince1970 * 1000),
                    payload: message.value
                )
            )
        )
        if case .log(let suppressed) = deadLetterLog.admit() {
            logger.warning(
                "dead-lettered message",
                metadata: [
                    "source": "\(message.topic)[\(message.partition)]@\(message.offset)",
                    "bytes": "\(message.value.count)", "reason": "\(reason)",
                    "suppressed_since_last": "\(suppressed)",
                ]
            )
        }
        metrics.recordDeadLettered(topic: message.topic)
        status.update { $0.deadLettered += 1 }
    }

    // MARK: Sending

    /// Hands every queued record to the producer.
    func send() throws {
        var produced = 0
        try listBytes.withUnsafeBytes { bytes in
            var start = 0
            for (keyEnd, end) in listEnds {
                try sendRetrying(
                    topic: topics.recommendations,
                    key: UnsafeRawBufferPointer(rebasing: bytes[start..<keyEnd]),
                    value: UnsafeRawBufferPointer(rebasing: bytes[keyEnd..<end])
                )
                produced += 1
                start = end
            }
        }
        listBytes.removeAll(keepingCapacity: true)
        listEnds.removeAll(keepingCapacity: true)
        for (key, record) in deadLetters {
            try sendRetrying(topic: topics.deadLetters, key: key, value: record.jsonBytes())
        }
        deadLetters.removeAll(keepingCapacity: true)
        for (key, value) in resendQueue {
            try sendRetrying(topic: topics.deadLetters, key: key, value: value)
        }
        resendQueue.removeAll()
        if produced > 0 {
            metrics.recordRecommendationsProduced(count: produced)
            status.update { $0.recommendationsProduced += Int64(produced) }
        }
    }

    private func sendRetrying(topic: String, key: [UInt8]?, value: [UInt8]) throws {
        try value.withUnsafeBytes { v in
            if let key {
                try key.withUnsafeBytes { k in try sendRetrying(topic: topic, key: k, value: v) }
            } else {
                try sendRetrying(topic: topic, key: nil, value: v)
            }
        }
    }

    private func sendRetrying(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
        var backoff = 0.1
        while true {
            do {
                try producer.send(topic: topic, key: key, value: value)
                return
            } catch let error as KafkaError where error.isFatal {
                try recreateProducer(after: error)  // then retry on the new producer
            } catch let error as KafkaError where error.isRetriable {
                if stop.isSet && backoff > 5 { throw error }
                if case .log(let suppressed) = kafkaErrorLog.admit() {
                    logger.warning(
                        "produce failed, retrying",
                        metadata: [
                            "topic": "\(topic)", "error": "\(error)", "backoff_s": "\(backoff)",
                            "suppressed_since_last": "\(suppressed)",
                        ]
                    )
                }
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }

    /// Serves delivery reports (failed ones land in ``takeFailedDeliveries()``).
    func serveDeliveryReports() { producer.poll() }

    /// Re-creates the producer if it raised a fatal error.
    func recoverFromFatalError() throws {
        if let fatal = producer.fatalError() { try recreateProducer(after: fatal) }
    }

    /// Sends the queues and waits until the broker acknowledged everything (before a snapshot may
    /// commit past the events the output derives from). False, logged, when the flush failed.
    func flush(timeout: Duration) -> Bool {
        do {
            try send()
            try producer.flush(timeout: timeout)
            if let fatal = producer.fatalError() { try recreateProducer(after: fatal) }
            return true
        } catch {
            if case .log(let suppressed) = kafkaErrorLog.admit() {
                logger.warning(
                    "snapshot postponed: producer flush failed",
                    metadata: ["error": "\(error)", "suppressed_since_last": "\(suppressed)"]
                )
            }
            return false
        }
    }

    func close(flushTimeout: Duration) throws { try producer.close(flushTimeout: flushTimeout) }

    /// librdkafka's documented recovery from a fatal producer error (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER
    /// after a broker outage broke idempotence): purge, destroy, create a new producer. The purged
    /// records come back as failed deliveries and are re-sent: lists are re-derived from the current
    /// model (fresher than what was lost), dead letters are re-sent verbatim. More than 5 re-creations
    /// within a minute means something else is wrong: the error is rethrown (supervisor restart).
    private func recreateProducer(after error: KafkaError) throws {
        let now = DispatchTime.now().uptimeNanoseconds
        recreatedAt = recreatedAt.filter { now &- $0 < 60_000_000_000 } + [now]
        guard recreatedAt.count <= 5 else {
            logger.critical(
                "producer fatal error repeats after re-creation: giving up",
                metadata: ["error": "\(error)"]
            )
            throw error
        }
        logger.error(
            "producer fatal error: purging and re-creating the producer; undelivered lists will be re-sent",
            metadata: ["error": "\(error)"]
        )
        let old = producer!
        old.abandon()
        producer = try makeProducer()
        // rd_kafka_destroy may wait for broker threads: release the old handle off the learner thread.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.1)
            withExtendedLifetime(old) {}
        }
        status.update { $0.producerRecreations += 1 }
    }

    /// Takes the records that failed delivery: dead letters are queued again as they were; the keys
    /// (user ids) of failed lists are returned, for their users to be re-ranked with the current model.
    /// `count` is how many records failed.
    func takeFailedDeliveries() -> (count: Int, listKeys: [[UInt8]]) {
        let records = failed.records.withLock { f in
            defer { f.removeAll() }
            return f
        }
        guard !records.isEmpty else { return (0, []) }
        var listKeys: [[UInt8]] = []
        var dead = 0
        for f in records {
            if f.topic == topics.deadLetters {
                resendQueue.append((f.key, f.value))
                dead += 1
            } else if let key = f.key {
                listKeys.append(key)
            }
        }
        logger.warning(
            "re-sending records that failed delivery",
            metadata: ["lists": "\(listKeys.count)", "dead_letters": "\(dead)"]
        )
        return (records.count, listKeys)
    }
}
