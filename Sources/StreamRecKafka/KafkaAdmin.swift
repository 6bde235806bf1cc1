import CRDKafka
public import Logging

/// Topic administration (CreateTopics, metadata). Calls are synchronous and bounded by `timeout`.
public final class KafkaAdmin: Sendable {
    /// A topic to create. `config` takes topic-level properties such as `cleanup.policy=compact`.
    public struct NewTopic: Sendable, Hashable {
        public var name: String
        public var partitions: Int32
        public var replicationFactor: Int32
        public var config: [String: String]

        public init(_ name: String, partitions: Int32 = 1, replicationFactor: Int32 = 1, config: [String: String] = [:])
        {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.config = config
        }
    }

    private let handle: RDKafkaHandle

    public init(configuration: KafkaConfig, logger: Logger = Logger(label: "streamrec.kafka.admin")) throws {
        handle = try RDKafkaHandle(
            RD_KAFKA_PRODUCER,
            configuration: configuration,
            callbacks: RDKafkaCallbacks(logger: logger)
        )
    }

    /// Creates the topics; ones that already exist count as success (so startup can always call this).
    /// Does not check that an existing topic has the requested partition count or config.
    public func createTopics(_ topics: [NewTopic], timeout: Duration = .seconds(30)) throws {
        guard !topics.isEmpty else { return }
        let rk = handle.rk
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics {
            var errstr = ErrorString()
            guard
                let nt = rd_kafka_NewTopic_new(
                    topic.name,
                    topic.partitions,
                    topic.replicationFactor,
                    &errstr.buffer,
                    errstr.size
                )
            else {
                throw KafkaError.invalidArgument("topic \(topic.name): \(errstr.text)")
            }
            newTopics.append(nt)
            for (key, value) in topic.config.sorted(by: { $0.key < $1.key }) {
                try KafkaError.check(rd_kafka_NewTopic_set_config(nt, key, value), "topic \(topic.name) config \(key)")
            }
        }
        let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errstr = ErrorString()
        try KafkaError.check(
            rd_kafka_AdminOptions_set_operation_timeout(options, timeout.rdMilliseconds, &errstr.buffer, errstr.size),
            "operation timeout"
        )
        try KafkaError.check(
            rd_kafka_AdminOptions_set_request_timeout(options, timeout.rdMilliseconds, &errstr.buffer, errstr.size),
            "request timeout"
        )
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        rd_kafka_CreateTopics(rk, &newTopics, newTopics.count, options, queue)
        // librdkafka enforces the operation timeout itself; the extra margin only guards against a lost event.
        guard let event = rd_kafka_queue_poll(queue, (timeout + .seconds(5)).rdMilliseconds) else {
            throw KafkaError.timedOut("create topics")
        }
        defer { rd_kafka_event_destroy(event) }
        try KafkaError.check(
            rd_kafka_event_error(event),
            "create topics: \(String(optionalCString: rd_kafka_event_error_string(event)) ?? "")"
        )
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let results = rd_kafka_CreateTopics_result_topics(result, &count)
        else { return }
        for r in UnsafeBufferPointer(start: results, count: count) {
            let err = rd_kafka_topic_result_error(r)
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else { continue }
            let name = String(optionalCString: rd_kafka_topic_result_name(r)) ?? "?"
            throw KafkaError(
                err,
                "create topic \(name): \(String(optionalCString: rd_kafka_topic_result_error_string(r)) ?? "")"
            )
        }
    }

    /// Names of all non-internal topics, sorted.
    public func listTopics(timeout: Duration = .seconds(10)) throws -> [String] {
        try handle.topics(timeout: timeout).keys.sorted()
    }

    /// Partition count of `topic`; throws `unknownTopicOrPartition` if it does not exist.
    public func partitionCount(of topic: String, timeout: Duration = .seconds(10)) throws -> Int {
        try handle.partitions(of: topic, timeout: timeout).count
    }
}
