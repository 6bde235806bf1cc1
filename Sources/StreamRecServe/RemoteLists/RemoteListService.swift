import Foundation
public import Logging
public import ServiceLifecycle
import StreamRecCore
import StreamRecKafka

/// Fills a ``RemoteListView`` from the recommendations topic, so `/users/{id}/recommendations` can
/// answer for users whose partition another instance learns (`http.remote_lists`).
///
/// Its consumer assigns every partition itself (no group, so it never joins the learners' rebalances),
/// from the beginning or `remote_lists_lookback_seconds` ago, and keeps the event topics' partition
/// counts current for the ownership check. A fatal client error ends the process, for the supervisor
/// to restart.
public final class RemoteListService: Service, Sendable {
    public let view: RemoteListView
    let configuration: ServeConfig
    let logger: Logger
    let metadataRefresh: Duration
    private let stop = StopFlag()

    public init(
        configuration: ServeConfig,
        view: RemoteListView,
        metadataRefresh: Duration = .seconds(30),
        logger: Logger = Logger(label: "streamrec.remote-lists")
    ) {
        self.configuration = configuration
        self.view = view
        self.metadataRefresh = metadataRefresh
        self.logger = logger
    }

    /// The view the configuration asks for (caps, event topics, group).
    public static func makeView(_ c: ServeConfig) -> RemoteListView {
        RemoteListView(
            eventTopics: c.kafka.eventTopics,
            groupID: c.kafka.groupID,
            maxUsers: c.http.remoteListsMaxUsers,
            maxBytes: c.http.remoteListsMaxBytes
        )
    }

    /// librdkafka settings of the list reader: the shared client and consumer properties, without the
    /// learners' group and static membership.
    var kafkaConfig: KafkaConfig {
        var props = configuration.kafka.properties.merging(configuration.kafka.consumerProperties) { _, new in new }
        props["bootstrap.servers"] = configuration.kafka.bootstrapServers
        props["group.id"] = nil
        props["group.instance.id"] = nil
        props["client.id"] = (props["client.id"] ?? "streamrec") + "-lists"
        return KafkaConfig(props)
    }

    public func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread { [self] in continuation.resume(with: Result { try readLoop() }) }
                    thread.name = "streamrec-lists"
                    thread.start()
                }
            } onGracefulShutdown: {
                self.stop.set()
            }
        } onCancel: {
            self.stop.set()
        }
    }

    func readLoop() throws {
        let consumer = try KafkaConsumer(configuration: kafkaConfig, logger: logger)
        defer { try? consumer.close() }
        let topic = configuration.kafka.recommendationsTopic
        var assigned: Set<TopicPartition> = []
        var lastRefresh: ContinuousClock.Instant?
        var read: Int64 = 0
        while !stop.isSet {
            // Until the topics exist (a learner creates them at start-up), look every second.
            let interval =
                assigned.isEmpty || !view.knowsAllPartitionCounts ? min(.seconds(1), metadataRefresh) : metadataRefresh
            if lastRefresh.map({ ContinuousClock.now - $0 >= interval }) ?? true {
                lastRefresh = .now
                refreshPartitionCounts(consumer)
                // New partitions of the recommendations topic (created late, or grown) join the assignment.
                if let partitions = try? consumer.partitions(of: topic, timeout: .seconds(5)),
                    !Set(partitions).isSubset(of: assigned)
                {
                    let added = Set(partitions).subtracting(assigned)
                    var offsets = try startOffsets(Array(added), consumer)
                    if !assigned.isEmpty {
                        for (tp, next) in (try? consumer.position(Array(assigned))) ?? [:] {
                            offsets[tp] = next >= 0 ? next : KafkaOffset.beginning
                        }
                        for tp in assigned where offsets[tp] == nil { offsets[tp] = KafkaOffset.beginning }
                    }
                    try consumer.assign(offsets)
                    assigned.formUnion(added)
                    logger.info(
                        "reading recommendation lists",
                        metadata: [
                            "topic": "\(topic)", "partitions": "\(assigned.count)",
                            "lookback_seconds": "\(configuration.http.remoteListsLookbackSeconds)",
                        ]
                    )
                }
            }
            let messages = try consumer.poll(maxMessages: 1000, timeout: .milliseconds(200))
            guard !messages.isEmpty else { continue }
            let now = OperationsAPI.wallClockMillis()
            for m in messages {
                guard let key = m.key, !key.isEmpty, key.count <= configuration.limits.maxIdBytes,
                    m.value.count <= configuration.limits.maxMessageBytes
                else { continue }
                view.put(user: String(decoding: key, as: UTF8.self), bytes: m.value, receivedAt: now)
            }
            read += Int64(messages.count)
            view.countRead(messages.count)
        }
        logger.info("stopped reading recommendation lists", metadata: ["messages": "\(read)"])
    }

    /// Beginning, or the first offset within the look-back window.
    func startOffsets(_ partitions: [TopicPartition], _ consumer: KafkaConsumer) throws -> [TopicPartition: Int64] {
        let lookback = configuration.http.remoteListsLookbackSeconds
        guard lookback > 0 else {
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
        }
        let since = OperationsAPI.wallClockMillis() - Int64(lookback * 1000)
        return try consumer.offsetsForTimes(Dictionary(uniqueKeysWithValues: partitions.map { ($0, since) }))
    }

    func refreshPartitionCounts(_ consumer: KafkaConsumer) {
        for topic in configuration.kafka.eventTopics {
            if let partitions = try? consumer.partitions(of: topic, timeout: .seconds(5)), !partitions.isEmpty {
                view.setPartitionCount(topic: topic, Int32(partitions.count))
            }
        }
    }
}
