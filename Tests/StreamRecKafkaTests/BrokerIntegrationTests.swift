import Foundation
import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecTestSupport
import Testing

@Suite(
    "Real broker (STREAMREC_KAFKA_BROKERS)",
    .realBroker
)
struct BrokerIntegrationTests {
    let bootstrap: String
    let admin: KafkaAdmin

    init() throws {
        bootstrap = try TestBroker.bootstrap()
        admin = try KafkaAdmin(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
    }

    func consumer(
        group: String,
        instance: String? = nil,
        handler: KafkaConsumer.RebalanceHandler? = nil
    ) throws -> KafkaConsumer {
        var config = KafkaConfig(bootstrapServers: bootstrap, properties: ["auto.offset.reset": "earliest"])
        config.groupID = group
        config.groupInstanceID = instance
        return try KafkaConsumer(configuration: config, rebalanceHandler: handler, logger: quietLogger)
    }

    /// A fresh topic (unique name, so tests can share a broker) with `count` keyed messages.
    func topicWithMessages(_ count: Int, partitions: Int32 = 3) throws -> String {
        let topic = uniqueName("it-events")
        try admin.createTopics([KafkaAdmin.NewTopic(topic, partitions: partitions)])
        let producer = try produce(count, to: topic, bootstrap: bootstrap)
        #expect(producer.deliveredCount == count)
        #expect(producer.failedCount == 0)
        return topic
    }

    @Test func brokerIsReachable() throws {
        #expect(try admin.listTopics(timeout: .seconds(10)).allSatisfy { !$0.hasPrefix("__") })
    }

    @Test func createsTopicsIncludingCompactedAndToleratesExisting() throws {
        let events = uniqueName("it-events")
        let recs = uniqueName("it-recs-compacted")
        let topics = [
            KafkaAdmin.NewTopic(events, partitions: 3),
            KafkaAdmin.NewTopic(recs, partitions: 2, config: ["cleanup.policy": "compact"]),
        ]
        try admin.createTopics(topics)
        try admin.createTopics(topics)  // TOPIC_ALREADY_EXISTS counts as success
        let listed = try admin.listTopics()
        #expect(listed.contains(events) && listed.contains(recs))
        #expect(try admin.partitionCount(of: events) == 3)
        #expect(try admin.partitionCount(of: recs) == 2)
    }

    @Test func idempotentProducerAndStaticMemberRoundTripThousandKeyedMessages() throws {
        let topic = try topicWithMessages(1000)
        let consumer = try consumer(group: uniqueName("it-group"), instance: uniqueName("member"))
        try consumer.subscribe(topics: [topic])
        let messages = try drain(consumer, count: 1000, maxPolls: 600)
        try consumer.close()
        #expect(messages.count == 1000)
        #expect(Set(messages.compactMap { text($0.key) }) == Set((0..<1000).map { "key-\($0)" }))
        #expect(messages.allSatisfy { text($0.value) == text($0.key)?.replacingOccurrences(of: "key", with: "value") })
        // Idempotent producer, no duplicates: every partition holds offsets 0..<n exactly once.
        for (_, group) in Dictionary(grouping: messages, by: \.partition) {
            #expect(group.map(\.offset) == Array(0..<Int64(group.count)))
        }
        #expect(Set(messages.map(\.partition)).count == 3)
        let tomorrow = Int64(Date.now.timeIntervalSince1970 * 1000) + 86_400_000
        let assigner = try KafkaConsumer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        let tp = TopicPartition(topic, 0)
        #expect(try assigner.offsetsForTimes([tp: 0]) == [tp: 0])
        #expect(try assigner.offsetsForTimes([tp: tomorrow]) == [tp: KafkaOffset.end])
    }

    @Test func secondInstanceResumesFromCommittedOffsets() throws {
        let topic = try topicWithMessages(1000)
        let group = uniqueName("it-group")
        let instance = uniqueName("member")  // same static member id: the restart takes its partitions back

        let first = try consumer(group: group, instance: instance)
        try first.subscribe(topics: [topic])
        let firstBatch = try drain(first, count: 400, maxPolls: 600)
        #expect(firstBatch.count == 400)
        let next = Dictionary(grouping: firstBatch, by: \.topicPartition).mapValues { $0.map(\.offset).max()! + 1 }
        try first.commit(next)
        try first.close()

        let second = try consumer(group: group, instance: instance)
        try second.subscribe(topics: [topic])
        let partitions = try second.partitions(of: topic)
        #expect(try second.committed(partitions) == next)
        let secondBatch = try drain(second, count: 600, maxPolls: 600)
        try second.close()
        #expect(secondBatch.count == 600)
        let firstKeys = Set(firstBatch.compactMap { text($0.key) })
        let secondKeys = Set(secondBatch.compactMap { text($0.key) })
        #expect(firstKeys.isDisjoint(with: secondKeys))
        #expect(firstKeys.union(secondKeys) == Set((0..<1000).map { "key-\($0)" }))
        for message in secondBatch { #expect(message.offset >= next[message.topicPartition] ?? 0) }
    }

    @Test func cleanCloseLeavesGroupSoANewMemberGetsAllPartitions() throws {
        let topic = try topicWithMessages(30)
        let group = uniqueName("it-group")
        let all = (0..<3).map { TopicPartition(topic, Int32($0)) }
        let assignedToFirst = Recorder<[TopicPartition]>()

        // Dynamic members: static ones deliberately do not send LeaveGroup on close.
        let first = try consumer(
            group: group,
            handler: .init(onAssign: {
                assignedToFirst.append($0)
                return [:]
            })
        )
        try first.subscribe(topics: [topic])
        #expect(try awaitAssignment(first).assignment == all)
        #expect(assignedToFirst.values.flatMap { $0 }.sorted() == all)
        try first.close()

        let second = try consumer(group: group)
        try second.subscribe(topics: [topic])
        let (assignment, early) = try awaitAssignment(second)
        #expect(assignment == all)
        #expect(early.count + (try drain(second, count: 30 - early.count)).count == 30)
        try second.close()
    }

    @Test func staticMemberThatLeavesHandsItsPartitionsOverAtOnce() throws {
        let topic = try topicWithMessages(40, partitions: 4)
        let group = uniqueName("it-group")
        let all = (0..<4).map { TopicPartition(topic, Int32($0)) }
        let a = try consumer(group: group, instance: uniqueName("a"))
        let b = try consumer(group: group, instance: uniqueName("b"))
        try a.subscribe(topics: [topic])
        try b.subscribe(topics: [topic])
        // Both join (each must poll for its own join to finish): range gives each two partitions.
        var shares: ([TopicPartition], [TopicPartition]) = ([], [])
        for _ in 0..<600 where shares.0.count + shares.1.count < 4 || shares.0.isEmpty || shares.1.isEmpty {
            _ = try a.poll(timeout: .milliseconds(50))
            _ = try b.poll(timeout: .milliseconds(50))
            shares = (try a.assignment(), try b.assignment())
        }
        #expect(shares.0.count == 2 && shares.1.count == 2 && Set(shares.0 + shares.1) == Set(all))

        // close() alone sends no LeaveGroup for a static member (KIP-345): b's partitions would wait
        // for its session timeout (Kafka) or for ever (noida-db). leaveGroup() unsubscribes first.
        #expect(try b.leaveGroup())
        try b.close()
        var taken: [TopicPartition] = []
        for _ in 0..<600 where taken != all {
            _ = try a.poll(timeout: .milliseconds(50))
            taken = try a.assignment()
        }
        #expect(taken == all)
        try a.close()
    }
}
