import CRDKafka
public import Logging
import StreamRecKafka

/// librdkafka's in-process mock Kafka cluster, for tests that need a broker but not a process:
/// point any client at `bootstrapServers`. Lives until this object is released.
/// (The mock cluster needs a host `rd_kafka_t`; an idle producer serves.)
public final class KafkaMockCluster: @unchecked Sendable {
    // @unchecked Sendable: immutable references; the mock cluster API is thread-safe.
    private let host: KafkaProducer
    private let cluster: OpaquePointer
    /// `host:port,...` of the mock brokers.
    public let bootstrapServers: String

    public init(brokers: Int32 = 1, logger: Logger = Logger(label: "streamrec.kafka.mock")) throws {
        host = try KafkaProducer(
            configuration: KafkaConfig(["client.id": "streamrec-mock-host", "enable.idempotence": "false"]),
            logger: logger
        )
        guard let cluster = rd_kafka_mock_cluster_new(host.rk, brokers) else {
            throw KafkaError.invalidArgument("could not create a mock cluster with \(brokers) brokers")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit { rd_kafka_mock_cluster_destroy(cluster) }

    /// Creates a topic directly in the mock (unknown topics are otherwise auto-created on first use).
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws {
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor),
            "mock create topic \(name)"
        )
    }
}
