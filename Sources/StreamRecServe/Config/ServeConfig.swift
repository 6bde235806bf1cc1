import Foundation
public import StreamRecCore
public import StreamRecKafka

/// Everything `streamrec serve` needs, loaded from a TOML file, then `STREAMREC_*` environment
/// variables, then command-line flags (each layer overrides the previous). See deploy/streamrec.toml.
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
    }

    public var kafka = Kafka()
    public var model = ModelConfig()
    public var weights = EventWeights()
    public var limits = EventLimits()
    public var snapshots = Snapshots()
    public var http = HTTP()
    /// Length of produced recommendation lists.
    public var k = 10
    /// Messages per poll.
    public var batchSize = 500
    /// A user's list is re-emitted at most once per interval; bursts in between are coalesced into
    /// one refresh carrying the latest state. 0 = once per polled batch.
    public var minRefreshIntervalMillis: Int64 = 0
    /// MF top-K search for produced lists: exact, or approximate through the item index (`[serve] ranking`).
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
    /// Loads `path` (if given), then applies `STREAMREC_*` variables from `environment`.
    public static func load(path: String?, environment: [String: String]) throws -> ServeConfig {
        var table = TOMLTable()
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ServeConfigError("cannot read config file \(path)")
            }
            table = try TOMLTable(parsing: String(decoding: data, as: UTF8.self))
        }
        var config = ServeConfig()
        try config.apply(table)
        try config.applyEnvironment(environment)
        try config.validate()
        return config
    }

    static let sections: Set<String> = ["kafka", "model", "weights", "snapshots", "http", "serve", "logging", "limits"]

    /// Applies `STREAMREC_SECTION_KEY=value` (e.g. `STREAMREC_KAFKA_BOOTSTRAP_SERVERS`) and
    /// `STREAMREC_KAFKA_PROP_SASL_PASSWORD=…` (→ librdkafka `sasl.password`: how secrets should arrive).
    mutating func applyEnvironment(_ environment: [String: String]) throws {
        for (name, raw) in environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("STREAMREC_") && name != LoggingBootstrap.environmentVariable {
            let rest = name.dropFirst("STREAMREC_".count).lowercased()
            if rest.hasPrefix("kafka_prop_") {
                let property = rest.dropFirst("kafka_prop_".count).replacingOccurrences(of: "_", with: ".")
                kafka.properties[property] = raw
                continue
            }
            guard let underscore = rest.firstIndex(of: "_") else { continue }
            let section = String(rest[..<underscore]), key = String(rest[rest.index(after: underscore)...])
            guard Self.sections.contains(section), !Self.isServiceLink(name: name, value: raw) else {
                ignoredEnvironment.append(name)
                continue
            }
            // Typed if it parses as a TOML value (5, true, ["a"]), else taken as a string.
            let value = (try? TOMLTable(parsing: "v = \(raw)"))?["v"] ?? .string(raw)
            do {
                try apply(TOMLTable(values: [[section, key]: value]), lenient: true)
            } catch let error as ServeConfigError {
                // The example config promises unknown keys are errors: a mistyped variable must not be
                // silently dropped (Kubernetes service links were set aside above).
                throw ServeConfigError("environment variable \(name): \(error.description)")
            }
        }
    }

    /// `lenient`: values from the environment arrive as text, so "8080" may stand for an integer and 5
    /// for a string; a config file must use the right TOML type (`port = "8080"` is an error).
    mutating func apply(_ t: TOMLTable, lenient: Bool = false) throws {
        for path in t.values.keys {
            guard let section = path.first, Self.sections.contains(section) else {
                throw ServeConfigError("unknown config section '\(path.joined(separator: "."))'")
            }
        }
        func string(_ v: TOMLTable.Value, _ key: String) throws -> String {
            switch v {
            case .string(let s): return s
            case .integer(let i) where lenient: return "\(i)"
            case .float(let d) where lenient: return "\(d)"
            case .bool(let b) where lenient: return "\(b)"
            default: throw ServeConfigError("\(key) must be a string, got \(v)")
            }
        }
        func int(_ v: TOMLTable.Value, _ key: String) throws -> Int64 {
            if case .integer(let i) = v { return i }
            if lenient, case .string(let s) = v, let i = Int64(s) { return i }
            throw ServeConfigError("\(key) must be an integer, got \(v)")
        }
        func double(_ v: TOMLTable.Value, _ key: String) throws -> Double {
            switch v {
            case .integer(let i): return Double(i)
            case .float(let d): return d
            case .string(let s) where lenient: if let d = Double(s), d.isFinite { return d }
            default: break
            }
            throw ServeConfigError("\(key) must be a number, got \(v)")
        }
        func bool(_ v: TOMLTable.Value, _ key: String) throws -> Bool {
            if case .bool(let b) = v { return b }
            if lenient, case .string(let s) = v, let b = Bool(s) { return b }
            throw ServeConfigError("\(key) must be true or false, got \(v)")
        }
        func strings(_ v: TOMLTable.Value, _ key: String) throws -> [String] {
            if case .array(let items) = v { return try items.map { try string($0, key) } }
            return try string(v, key).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        func properties(_ prefix: [String]) throws -> [String: String] {
            try t.table(prefix).mapValues { try string($0, prefix.joined(separator: ".")) }
        }

        var modelJSON: [String: Any] = [:]
        for (path, v) in t.values {
            let key = path.joined(separator: ".")
            switch path {
            case ["kafka", "bootstrap_servers"]: kafka.bootstrapServers = try string(v, key)
            case ["kafka", "event_topics"]: kafka.eventTopics = try strings(v, key)
            case ["kafka", "recommendations_topic"]: kafka.recommendationsTopic = try string(v, key)
            case ["kafka", "dead_letter_topic"]: kafka.deadLetterTopic = try string(v, key)
            case ["kafka", "group_id"]: kafka.groupID = try string(v, key)
            case ["kafka", "instance_id"]:
                let id = try string(v, key)
                kafka.instanceID = id.isEmpty ? nil : id
            case ["kafka", "create_topics"]: kafka.createTopics = try bool(v, key)
            case ["kafka", "topic_partitions"]:
                let n = try int(v, key)
                guard n >= 1 && n <= 100_000 else { throw ServeConfigError("\(key) must be in 1...100000, got \(n)") }
                kafka.topicPartitions = Int32(n)
            case _ where path.count == 3 && path[0] == "kafka" && path[1] == "properties":
                kafka.properties[path[2]] = try string(v, key)
            case _ where path.count == 3 && path[0] == "kafka" && path[1] == "consumer_properties":
                kafka.consumerProperties[path[2]] = try string(v, key)
            case _ where path.count == 3 && path[0] == "kafka" && path[1] == "producer_properties":
                kafka.producerProperties[path[2]] = try string(v, key)
            case _ where path.count == 2 && path[0] == "model":
                modelJSON[Self.camelCase(path[1])] = try Self.jsonValue(v)
            case ["weights", "default"]: weights.defaultWeight = Float(try double(v, key))
            case _ where path.count == 2 && path[0] == "weights": weights.byType[path[1]] = Float(try double(v, key))
            case ["snapshots", "directory"]: snapshots.directory = try string(v, key)
            case ["snapshots", "every_events"]: snapshots.everyEvents = try int(v, key)
            case ["snapshots", "every_seconds"]: snapshots.everySeconds = try double(v, key)
            case ["snapshots", "retain"]: snapshots.retain = Int(try int(v, key))
            case ["snapshots", "max_unsaved_seconds"]: snapshots.maxUnsavedSeconds = try double(v, key)
            case ["snapshots", "on_missing"]:
                let raw = try string(v, key)
                guard let policy = MissingSnapshotPolicy(rawValue: raw) else {
                    throw ServeConfigError("\(key) must be \"rebuild\" or \"refuse\", got '\(raw)'")
                }
                snapshots.onMissing = policy
            case ["http", "enabled"]: http.enabled = try bool(v, key)
            case ["http", "host"]: http.host = try string(v, key)
            case ["http", "port"]: http.port = Int(try int(v, key))
            case ["http", "readiness_max_lag"]: http.readinessMaxLag = try int(v, key)
            case ["http", "idle_timeout_seconds"]: http.idleTimeoutSeconds = try double(v, key)
            case ["serve", "k"]: k = Int(try int(v, key))
            case ["serve", "batch_size"]: batchSize = Int(try int(v, key))
            case ["serve", "min_refresh_interval_ms"]: minRefreshIntervalMillis = try int(v, key)
            case ["serve", "ranking"]:
                let name = try string(v, key)
                guard let mode = RankingMode(rawValue: name) else {
                    throw ServeConfigError("\(key) must be exact or approximate, not '\(name)'")
                }
                ranking = mode
            case ["serve", "online_evaluation_every"]: onlineEvaluationEvery = Int(try int(v, key))
            case ["serve", "exit_when_idle_ms"]: exitWhenIdleMillis = try int(v, key)
            case ["serve", "shutdown_timeout_seconds"]: shutdownTimeoutSeconds = try double(v, key)
            case ["serve", "timestamp_unit"]:
                let raw = try string(v, key)
                guard let unit = EventTimeGuard.Unit(rawValue: raw) else {
                    throw ServeConfigError("\(key) must be \"milliseconds\" or \"seconds\", got '\(raw)'")
                }
                eventTime.unit = unit
            case ["serve", "max_future_skew_ms"]: eventTime.maxFutureSkewMillis = try int(v, key)
            case ["limits", "max_effective_weight"]: weights.maxExplicitWeight = Float(try double(v, key))
            case ["limits", "max_message_bytes"]: limits.maxMessageBytes = Int(try int(v, key))
            case ["limits", "max_id_bytes"]: limits.maxIdBytes = Int(try int(v, key))
            case ["logging", "level"]: logLevel = try string(v, key)
            default: throw ServeConfigError("unknown config key '\(key)'")
            }
        }
        if !modelJSON.isEmpty {
            var merged = (try JSONSerialization.jsonObject(with: JSONEncoder().encode(model))) as? [String: Any] ?? [:]
            // snake_case → ModelConfig's key, case-insensitively (user_ttl → userTTL).
            let known = Dictionary(uniqueKeysWithValues: merged.keys.map { ($0.lowercased(), $0) })
            for (key, value) in modelJSON {
                guard let field = known[key.lowercased()] else { throw ServeConfigError("unknown model setting '\(key)'") }
                merged[field] = value
            }
            do {
                model = try JSONDecoder().decode(ModelConfig.self, from: JSONSerialization.data(withJSONObject: merged))
            } catch {
                throw ServeConfigError("invalid [model] settings: \(error)")
            }
        }
        guard k >= 1 && k <= 1000 else { throw ServeConfigError("serve.k must be in 1...1000") }
        guard batchSize >= 1 && batchSize <= 100_000 else { throw ServeConfigError("serve.batch_size must be in 1...100000") }
        guard !kafka.eventTopics.isEmpty else { throw ServeConfigError("kafka.event_topics is empty") }
    }

    /// `learning_rate` → `learningRate`, matching ``ModelConfig``'s coding keys.
    static func camelCase(_ snake: String) -> String {
        let parts = snake.split(separator: "_")
        return parts.enumerated().map { i, p in i == 0 ? String(p) : p.prefix(1).uppercased() + p.dropFirst() }.joined()
    }

    static func jsonValue(_ v: TOMLTable.Value) throws -> Any {
        switch v {
        case .string(let s): return s
        case .integer(let i): return i
        case .float(let d): return d
        case .bool(let b): return b
        case .array(let a): return try a.map(jsonValue)
        }
    }
}
