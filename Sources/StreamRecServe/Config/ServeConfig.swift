import Foundation
public import StreamRecCore
public import StreamRecKafka

/// Everything `streamrec serve` needs: defaults, overridden by a YAML file, then `STREAMREC_*` environment
/// variables, then command-line flags (see ``ConfigSources``, deploy/streamrec.yaml).
public struct ServeConfig: Sendable {
    public struct Kafka: Sendable {
        public var bootstrapServers = "127.0.0.1:9092"
        public var eventTopics = ["events"]
        public var recommendationsTopic = "recommendations"
        public var deadLetterTopic = "events-dlq"
        public var groupID = "streamrec"
        /// Static membership id (`group.instance.id`): a restarted learner takes its partitions back
        /// without waiting for a session timeout. nil = dynamic membership.
        public var instanceID: String? = "streamrec-0"
        /// On a graceful stop, leave the group even as a static member, so the others take this learner's
        /// partitions at once (librdkafka's close alone doesn't, by KIP-345). false: they wait for its
        /// return — on Kafka up to `session.timeout.ms`, on some brokers forever (docs/scaling-runbook.md).
        public var leaveGroupOnShutdown = true
        /// Create missing topics at start-up (the recommendations topic compacted).
        public var createTopics = true
        public var topicPartitions: Int32 = 1
        /// librdkafka properties for every client (security.protocol, sasl.*, ssl.*, ...), verbatim.
        public var properties: [String: String] = [:]
        public var consumerProperties: [String: String] = [:]
        public var producerProperties: [String: String] = [:]
    }

    public struct Snapshots: Sendable {
        public var directory = "./streamrec-snapshots"
        public var everyEvents: Int64 = 100_000
        public var everySeconds: Double = 60
        public var retain = 3
        /// `/readyz` fails once a snapshot was due but none became durable for this long (full or
        /// read-only disk): a crash would lose that much learning.
        public var maxUnsavedSeconds: Double = 300
        /// No snapshot in the directory while the group has committed offsets (directory lost, new
        /// volume): `rebuild` re-reads every partition from its earliest retained offset (warning
        /// logged); `refuse` stops at start-up.
        public var onMissing: MissingSnapshotPolicy = .rebuild
    }

    public enum MissingSnapshotPolicy: String, Sendable, CaseIterable {
        case rebuild, refuse
    }

    public struct HTTP: Sendable {
        public var enabled = true
        /// Loopback by default: the query API and metrics are not meant for the open network.
        public var host = "127.0.0.1"
        public var port = 8080
        /// `/readyz` fails while the total consumer lag exceeds this.
        public var readinessMaxLag: Int64 = 10_000
        /// Idle / header-read timeout of HTTP connections (slowloris protection).
        public var idleTimeoutSeconds: Double = 10
        /// Answer `/users/{id}/recommendations` for users another instance learns with their latest list
        /// from the recommendations topic (``RemoteListService``); off: every user from the local model.
        public var remoteLists = false
        /// Caps of that in-memory view; the lists that arrived longest ago are evicted first.
        public var remoteListsMaxUsers = 1_000_000
        public var remoteListsMaxBytes = 256 * 1024 * 1024
        /// Read the topic from this many seconds back; 0 = from its beginning (compacted: one list per user).
        public var remoteListsLookbackSeconds: Double = 0
    }

    public var kafka = Kafka()
    public var model = ModelConfig()
    public var weights = EventWeights()
    public var limits = EventLimits()
    public var snapshots = Snapshots()
    public var http = HTTP()
    /// Item-state sharing between the learners of a group (`sync.*`).
    public var sync = SyncConfig()
    /// Per-partition user state in a compacted changelog topic (``UserStateChangelog``).
    public var changelog = ChangelogConfig()
    /// Length of produced recommendation lists.
    public var k = 10
    /// Messages per poll.
    public var batchSize = 500
    /// Learner threads in this process (`serve.learners`, `serve --learners N`): each is its own group
    /// member with its own snapshot directory and owns some of the assigned partitions; item state is
    /// shared through the model-sync topic. See ``forLearner(_:)``.
    public var learners = 1
    /// A user's list is re-emitted at most once per interval; bursts in between are coalesced into
    /// one refresh carrying the latest state. 0 = once per polled batch.
    public var minRefreshIntervalMillis: Int64 = 0
    /// MF top-K search for produced lists: exact, or approximate through the item index (`serve.ranking`).
    /// Approximate by default: on learned factors its lists matched exact ones (bench/README.md).
    public var ranking: RankingMode = .approximate
    /// Score every Nth event test-then-train for the online recall@K metric (0 = off).
    public var onlineEvaluationEvery = 10
    /// Stop after no message arrived for this long (batch jobs, demos, tests). 0 = run forever.
    public var exitWhenIdleMillis: Int64 = 0
    /// After a stop was requested (SIGTERM, idle exit), the process exits non-zero if the final snapshot,
    /// commit and client close haven't finished within this many seconds (e.g. librdkafka stuck in
    /// destroy after a broker wipe). The last durable snapshot and committed offsets stand.
    public var shutdownTimeoutSeconds: Double = 60
    public var logLevel = "info"
    /// Event-time checks (unit, future skew): see ``EventTimeGuard``.
    public var eventTime = EventTimeGuard()
    /// `STREAMREC_*` variables that named no setting (e.g. Kubernetes service links such as
    /// `STREAMREC_HTTP_SERVICE_HOST`): ignored, reported so typos are visible in the log.
    public var ignoredEnvironment: [String] = []

    public init() {}

    /// librdkafka configuration of the consumer.
    public var consumerKafkaConfig: KafkaConfig {
        var props = kafka.properties.merging(kafka.consumerProperties) { _, new in new }
        props["bootstrap.servers"] = kafka.bootstrapServers
        props["group.id"] = kafka.groupID
        if let id = kafka.instanceID { props["group.instance.id"] = id }
        props["auto.offset.reset"] = props["auto.offset.reset"] ?? "earliest"
        props["client.id"] = props["client.id"] ?? "streamrec"
        return KafkaConfig(props)
    }

    /// librdkafka configuration of the producer (idempotent: no duplicates from internal retries).
    public var producerKafkaConfig: KafkaConfig {
        var props = kafka.properties.merging(kafka.producerProperties) { _, new in new }
        props["bootstrap.servers"] = kafka.bootstrapServers
        props["enable.idempotence"] = props["enable.idempotence"] ?? "true"
        props["linger.ms"] = props["linger.ms"] ?? "5"
        props["compression.type"] = props["compression.type"] ?? "lz4"
        props["client.id"] = props["client.id"] ?? "streamrec"
        return KafkaConfig(props)
    }

    public var adminKafkaConfig: KafkaConfig {
        var props = kafka.properties
        props["bootstrap.servers"] = kafka.bootstrapServers
        return KafkaConfig(props)
    }
}

/// A configuration file or environment value that can't be used.
public struct ServeConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ServeConfig {
    /// The operations API's settings. Carries `limits.max_id_bytes`, so the API refuses the same ids the
    /// event decoder dead-letters.
    public var httpConfig: HTTPConfig {
        HTTPConfig(
            host: http.host,
            port: http.port,
            defaultK: k,
            maxIdBytes: limits.maxIdBytes,
            idleTimeoutSeconds: http.idleTimeoutSeconds
        )
    }
}
