import Foundation
import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecTestSupport
import Testing

/// Fast tests against librdkafka's in-process mock cluster (no broker process needed).
@Suite("Mock cluster")
struct MockClusterTests {
    let cluster: KafkaMockCluster
    let topic = uniqueName("events")

    init() throws {
        cluster = try KafkaMockCluster(logger: quietLogger)
    }

    func consumerConfig(group: String? = nil, _ extra: [String: String] = [:]) -> KafkaConfig {
        var config = KafkaConfig(
            bootstrapServers: cluster.bootstrapServers,
            properties: ["auto.offset.reset": "earliest"]
        )
        config.groupID = group
        return config.merging(extra)
    }

    @Test func roundTripKeepsKeysValuesHeadersAndTimestamps() throws {
        try cluster.createTopic(topic, partitions: 1)
        let headers = [KafkaHeader(key: "trace", value: bytes("abc")), KafkaHeader(key: "empty", value: [])]
        let producer = try produce(20, to: topic, bootstrap: cluster.bootstrapServers, headers: headers)
        #expect(producer.deliveredCount == 20)
        #expect(producer.failedCount == 0)
        #expect(producer.outstandingCount == 0)

        let consumer = try KafkaConsumer(configuration: consumerConfig(), logger: quietLogger)
        try consumer.assign([TopicPartition(topic, 0): KafkaOffset.beginning])
        let messages = try drain(consumer, count: 20)
        #expect(messages.map(\.offset) == Array(0..<20))
        #expect(messages.map { text($0.key) } == (0..<20).map { "key-\($0)" })
        #expect(messages.map { text($0.value) } == (0..<20).map { "value-\($0)" })
        #expect(messages.allSatisfy { $0.headers == headers && $0.topic == topic && $0.partition == 0 })
        #expect(messages.allSatisfy { ($0.timestamp ?? 0) > 0 })
        #expect(messages.first?.header("trace") == bytes("abc"))
    }

    @Test func deliveryHandlerSeesSuccessesAndFailures() throws {
        try cluster.createTopic(topic, partitions: 2)
        let reports = Recorder<KafkaProducer.DeliveryReport>()
        let producer = try KafkaProducer(
            configuration: KafkaConfig(
                bootstrapServers: cluster.bootstrapServers,
                properties: ["message.timeout.ms": "5000"]
            ),
            deliveryHandler: { reports.append($0) },
            logger: quietLogger
        )
        try producer.send(topic: topic, partition: 1, key: bytes("k"), value: bytes("v"))
        try producer.send(topic: topic, partition: 7, key: nil, value: bytes("to a partition that does not exist"))
        try producer.flush(timeout: .seconds(30))
        #expect(producer.deliveredCount == 1)
        #expect(producer.failedCount == 1)
        let ok = try #require(reports.values.first { $0.error == nil })
        #expect(ok.partition == 1 && ok.offset == 0 && ok.key == bytes("k") && ok.topic == topic)
        let failed = try #require(reports.values.first { $0.error != nil })
        #expect(failed.partition == 7 && failed.key == nil)
    }

    @Test func groupCommitIsReadBackByCommitted() throws {
        try cluster.createTopic(topic, partitions: 1)
        try produce(5, to: topic, bootstrap: cluster.bootstrapServers)
        let group = uniqueName("group")
        let consumer = try KafkaConsumer(configuration: consumerConfig(group: group), logger: quietLogger)
        try consumer.subscribe(topics: [topic])
        let messages = try drain(consumer, count: 5)
        #expect(messages.count == 5)
        let tp = TopicPartition(topic, 0)
        #expect(try consumer.committed([tp]).isEmpty)  // auto-commit is forced off
        try consumer.commit([tp: 3])
        #expect(try consumer.committed([tp]) == [tp: 3])
        #expect(try consumer.position([tp]) == [tp: 5])
        try consumer.close()
    }

    /// EAGER (`range`) uses rd_kafka_assign, COOPERATIVE (`cooperative-sticky`) incremental_assign.
    @Test(arguments: ["range", "cooperative-sticky"])
    func rebalanceHandlerGetsPartitionsAndItsStartOffsetsAreHonoured(strategy: String) throws {
        try cluster.createTopic(topic, partitions: 2)
        try produce(10, to: topic, bootstrap: cluster.bootstrapServers, partition: 0)
        try produce(10, to: topic, bootstrap: cluster.bootstrapServers, partition: 1)
        let assigned = Recorder<[TopicPartition]>()
        let revoked = Recorder<[TopicPartition]>()
        let starts = [TopicPartition(topic, 0): Int64(7), TopicPartition(topic, 1): Int64(4)]
        let handler = KafkaConsumer.RebalanceHandler(
            onAssign: { partitions in
                assigned.append(partitions)
                return starts
            },
            onRevoke: { partitions, _ in revoked.append(partitions) }
        )
        let config = consumerConfig(group: uniqueName("group"), ["partition.assignment.strategy": strategy])
        let consumer = try KafkaConsumer(
            configuration: config,
            rebalanceHandler: handler,
            logger: quietLogger
        )
        try consumer.subscribe(topics: [topic])
        let messages = try drain(consumer, count: 3 + 6)
        #expect(assigned.values.first?.sorted() == starts.keys.sorted())
        #expect(consumer.rebalanceProtocol == (strategy == "range" ? "EAGER" : "COOPERATIVE"))
        let byPartition = Dictionary(grouping: messages, by: \.partition).mapValues { $0.map(\.offset) }
        #expect(byPartition[0] == [7, 8, 9])
        #expect(byPartition[1] == [4, 5, 6, 7, 8, 9])
        try consumer.close()
        #expect(revoked.values.last?.sorted() == starts.keys.sorted())
    }

    @Test func assignModeReadsAWatermarkBoundedRange() throws {
        try cluster.createTopic(topic, partitions: 1)
        try produce(30, to: topic, bootstrap: cluster.bootstrapServers)
        let consumer = try KafkaConsumer(configuration: consumerConfig(), logger: quietLogger)
        #expect(try consumer.partitions(of: topic) == [TopicPartition(topic, 0)])
        let (low, high) = try consumer.watermarkOffsets(topic: topic, partition: 0)
        #expect(low == 0 && high == 30)
        let tp = TopicPartition(topic, 0)
        // No record is newer than tomorrow → "end" (the mock cannot look up older timestamps;
        // that case is covered against the real broker).
        let tomorrow = Int64(Date.now.timeIntervalSince1970 * 1000) + 86_400_000
        #expect(try consumer.offsetsForTimes([tp: tomorrow]) == [tp: KafkaOffset.end])
        try consumer.assign([tp: 10])
        #expect(try consumer.assignment() == [tp])
        let messages = try drain(consumer, count: Int(high - 10))
        #expect(messages.map(\.offset) == Array(10..<high))
        #expect(text(messages.last?.value) == "value-29")
        try consumer.seek([tp: 25])
        #expect(try drain(consumer, count: 5).map(\.offset) == Array(25..<30))
        #expect(try consumer.position([tp]) == [tp: 30])
    }

    @Test func partitionEOFIsReportedAsAnEvent() throws {
        try cluster.createTopic(topic, partitions: 1)
        try produce(2, to: topic, bootstrap: cluster.bootstrapServers)
        let events = Recorder<KafkaConsumer.Event>()
        let consumer = try KafkaConsumer(
            configuration: consumerConfig(group: nil, ["enable.partition.eof": "true"]),
            onEvent: { events.append($0) },
            logger: quietLogger
        )
        try consumer.assign([TopicPartition(topic, 0): KafkaOffset.beginning])
        #expect(try drain(consumer, count: 2).count == 2)
        for _ in 0..<50 where events.values.isEmpty { _ = try consumer.poll(timeout: .milliseconds(100)) }
        let eofs = events.values.compactMap { event -> (TopicPartition, Int64)? in
            if case let .partitionEOF(tp, offset) = event { return (tp, offset) }
            return nil
        }
        #expect(eofs.first?.0 == TopicPartition(topic, 0))
        #expect(eofs.first?.1 == 2)
    }

    @Test func closeIsIdempotentAndLaterCallsThrowClosed() throws {
        let consumer = try KafkaConsumer(configuration: consumerConfig(group: uniqueName("group")), logger: quietLogger)
        try consumer.subscribe(topics: [topic])
        try consumer.close()
        try consumer.close()
        let error = try #require(throws: KafkaError.self) { try consumer.poll() }
        #expect(error.kind == .closed)
        #expect(throws: KafkaError.self) { try consumer.commit([TopicPartition(topic, 0): 1]) }

        let producer = try KafkaProducer(
            configuration: KafkaConfig(bootstrapServers: cluster.bootstrapServers),
            logger: quietLogger
        )
        try producer.close()
        try producer.close()
        #expect(throws: KafkaError.self) { try producer.send(topic: topic, key: nil, value: [1]) }
    }

    @Test func queueFullIsAbsorbedByPollingAndRetrying() throws {
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(
            configuration: KafkaConfig(
                bootstrapServers: cluster.bootstrapServers,
                properties: ["queue.buffering.max.messages": "5"]
            ),
            logger: quietLogger
        )
        for i in 0..<200 { try producer.send(topic: topic, key: nil, value: bytes("m\(i)")) }
        try producer.flush(timeout: .seconds(30))
        #expect(producer.deliveredCount == 200)
        #expect(producer.failedCount == 0)

        // The same burst without the retry budget hits the full queue.
        let impatient = try KafkaProducer(
            configuration: KafkaConfig(
                bootstrapServers: cluster.bootstrapServers,
                properties: ["queue.buffering.max.messages": "5"]
            ),
            queueFullTimeout: .zero,
            logger: quietLogger
        )
        let error = try #require(throws: KafkaError.self) {
            for i in 0..<200 { try impatient.send(topic: topic, key: nil, value: bytes("m\(i)")) }
        }
        #expect(error.code == .queueFull && error.isRetriable)
    }
}
