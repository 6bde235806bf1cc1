public import Configuration
import Foundation
public import StreamRecCore
import StreamRecKafka

/// Keys of the free-form tables (librdkafka properties, event-type weights). A `ConfigReader` answers
/// lookups but can't list keys, so ``ConfigSources`` collects these names from the file and the
/// environment and the reader inits below read each one through the reader (precedence, secrets).
public struct ConfigTables: Sendable, Equatable {
    public var properties: Set<String> = []
    public var consumerProperties: Set<String> = []
    public var producerProperties: Set<String> = []
    public var weightTypes: Set<String> = []
    public init() {}

    /// One of the tables above.
    public typealias Table = any WritableKeyPath<ConfigTables, Set<String>> & Sendable
}

extension ConfigReader {
    /// A text setting that must be one of an enum's raw values; `section.key` names it in the error.
    func choice<E: RawRepresentable & CaseIterable>(_ section: String, _ key: String, default value: E) throws -> E
    where E.RawValue == String {
        guard let text = string(forKey: ConfigKey(key)) else { return value }
        guard let choice = E(rawValue: text) else {
            let names = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
            throw ServeConfigError("\(section).\(key) must be \(names), got '\(text)'")
        }
        return choice
    }

    /// librdkafka properties under this reader (one per name); credential-like ones are read as secrets
    /// so swift-configuration's access logs and provider descriptions redact them.
    func properties(_ names: Set<String>) -> [String: String] {
        var out: [String: String] = [:]
        for name in names.sorted() {
            if let value = string(forKey: ConfigKey(name), isSecret: KafkaConfig.isSecret(name)) { out[name] = value }
        }
        return out
    }
}

extension ServeConfig.Kafka {
    /// Reads the `kafka` section.
    public init(reader r: ConfigReader, tables: ConfigTables = .init()) throws {
        self.init()
        bootstrapServers = r.string(forKey: "bootstrap_servers", default: bootstrapServers)
        eventTopics = r.stringArray(forKey: "event_topics", default: eventTopics).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        recommendationsTopic = r.string(forKey: "recommendations_topic", default: recommendationsTopic)
        deadLetterTopic = r.string(forKey: "dead_letter_topic", default: deadLetterTopic)
        groupID = r.string(forKey: "group_id", default: groupID)
        let id = r.string(forKey: "instance_id", default: instanceID ?? "")
        instanceID = id.isEmpty ? nil : id
        leaveGroupOnShutdown = r.bool(forKey: "leave_group_on_shutdown", default: leaveGroupOnShutdown)
        createTopics = r.bool(forKey: "create_topics", default: createTopics)
        topicPartitions = Int32(clamping: r.int(forKey: "topic_partitions", default: Int(topicPartitions)))
        properties = r.scoped(to: "properties").properties(tables.properties)
        consumerProperties = r.scoped(to: "consumer_properties").properties(tables.consumerProperties)
        producerProperties = r.scoped(to: "producer_properties").properties(tables.producerProperties)
    }
}

extension ServeConfig.Snapshots {
    /// Reads the `snapshots` section.
    public init(reader r: ConfigReader) throws {
        self.init()
        directory = r.string(forKey: "directory", default: directory)
        everyEvents = Int64(r.int(forKey: "every_events", default: Int(everyEvents)))
        everySeconds = r.double(forKey: "every_seconds", default: everySeconds)
        retain = r.int(forKey: "retain", default: retain)
        maxUnsavedSeconds = r.double(forKey: "max_unsaved_seconds", default: maxUnsavedSeconds)
        onMissing = try r.choice("snapshots", "on_missing", default: onMissing)
    }
}

extension ServeConfig.HTTP {
    /// Reads the `http` section.
    public init(reader r: ConfigReader) throws {
        self.init()
        enabled = r.bool(forKey: "enabled", default: enabled)
        host = r.string(forKey: "host", default: host)
        port = r.int(forKey: "port", default: port)
        readinessMaxLag = Int64(r.int(forKey: "readiness_max_lag", default: Int(readinessMaxLag)))
        idleTimeoutSeconds = r.double(forKey: "idle_timeout_seconds", default: idleTimeoutSeconds)
        remoteLists = r.bool(forKey: "remote_lists", default: remoteLists)
        remoteListsMaxUsers = r.int(forKey: "remote_lists_max_users", default: remoteListsMaxUsers)
        remoteListsMaxBytes = r.int(forKey: "remote_lists_max_bytes", default: remoteListsMaxBytes)
        remoteListsLookbackSeconds = r.double(
            forKey: "remote_lists_lookback_seconds",
            default: remoteListsLookbackSeconds
        )
    }
}

extension EventLimits {
    /// Reads the `limits` section's input caps (`max_effective_weight` belongs to ``EventWeights``).
    public init(reader r: ConfigReader) {
        self.init()
        maxMessageBytes = r.int(forKey: "max_message_bytes", default: maxMessageBytes)
        maxIdBytes = r.int(forKey: "max_id_bytes", default: maxIdBytes)
    }
}

extension EventWeights {
    /// Reads the `weights` table (`default` and one key per event type) and `limits.max_effective_weight`.
    public init(reader r: ConfigReader, types: Set<String>) {
        self.init()
        defaultWeight = Float(r.double(forKey: "weights.default", default: Double(defaultWeight)))
        for type in types.sorted() where type != "default" {
            let current = byType[type].map(Double.init)
            if let w = r.double(forKey: ConfigKey(["weights", type])) ?? current { byType[type] = Float(w) }
        }
        maxExplicitWeight = Float(r.double(forKey: "limits.max_effective_weight", default: Double(maxExplicitWeight)))
    }
}

extension ServeConfig {
    /// Reads every section; absent keys keep their defaults. Range checks are ``validate()``'s job.
    public init(reader: ConfigReader, tables: ConfigTables = .init()) throws {
        self.init()
        kafka = try Kafka(reader: reader.scoped(to: "kafka"), tables: tables)
        model = try ModelConfig(reader: reader.scoped(to: "model"))
        weights = EventWeights(reader: reader, types: tables.weightTypes.union(EventWeights.defaultTypeWeights.keys))
        limits = EventLimits(reader: reader.scoped(to: "limits"))
        snapshots = try Snapshots(reader: reader.scoped(to: "snapshots"))
        http = try HTTP(reader: reader.scoped(to: "http"))
        sync = try SyncConfig(reader: reader.scoped(to: "sync"))
        changelog = try ChangelogConfig(reader: reader.scoped(to: "changelog"))
        let s = reader.scoped(to: "serve")
        k = s.int(forKey: "k", default: k)
        batchSize = s.int(forKey: "batch_size", default: batchSize)
        learners = s.int(forKey: "learners", default: learners)
        minRefreshIntervalMillis = Int64(
            s.int(forKey: "min_refresh_interval_ms", default: Int(minRefreshIntervalMillis))
        )
        ranking = try s.choice("serve", "ranking", default: ranking)
        onlineEvaluationEvery = s.int(forKey: "online_evaluation_every", default: onlineEvaluationEvery)
        exitWhenIdleMillis = Int64(s.int(forKey: "exit_when_idle_ms", default: Int(exitWhenIdleMillis)))
        shutdownTimeoutSeconds = s.double(forKey: "shutdown_timeout_seconds", default: shutdownTimeoutSeconds)
        eventTime.unit = try s.choice("serve", "timestamp_unit", default: eventTime.unit)
        eventTime.maxFutureSkewMillis = Int64(
            s.int(forKey: "max_future_skew_ms", default: Int(eventTime.maxFutureSkewMillis))
        )
        logLevel = reader.string(forKey: "logging.level", default: logLevel)
    }
}
