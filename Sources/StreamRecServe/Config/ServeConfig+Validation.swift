import Foundation
import Logging
import StreamRecCore

/// Start-up checks of the whole configuration, after file, environment and flags are merged: a value
/// that can't work (a port that can't be bound, a negative size, an empty topic) stops the process
/// with a message naming the setting, instead of surfacing later as odd behaviour.
extension ServeConfig {
    public func validate() throws {
        func check(_ ok: Bool, _ setting: String, _ rule: String, _ value: Any) throws {
            guard ok else { throw ServeConfigError("\(setting) \(rule), got \(value)") }
        }
        try model.validate()
        // Kafka
        try check(
            !kafka.bootstrapServers.trimmingCharacters(in: .whitespaces).isEmpty,
            "kafka.bootstrap_servers",
            "must not be empty",
            "\"\""
        )
        try check(!kafka.eventTopics.isEmpty, "kafka.event_topics", "must name at least one topic", "[]")
        for topic in kafka.eventTopics + [kafka.recommendationsTopic, kafka.deadLetterTopic] {
            try check(
                Self.isValidTopicName(topic),
                "topic name",
                "must be 1–249 characters of [a-zA-Z0-9._-]",
                "'\(topic)'"
            )
        }
        try check(
            Set(kafka.eventTopics).count == kafka.eventTopics.count,
            "kafka.event_topics",
            "must not repeat a topic",
            kafka.eventTopics
        )
        for out in [kafka.recommendationsTopic, kafka.deadLetterTopic] {
            try check(
                !kafka.eventTopics.contains(out),
                "kafka.event_topics",
                "must not include the output topic '\(out)'",
                kafka.eventTopics
            )
        }
        try check(!kafka.groupID.isEmpty, "kafka.group_id", "must not be empty", "\"\"")
        try check(
            (1...100_000).contains(kafka.topicPartitions),
            "kafka.topic_partitions",
            "must be in 1...100000",
            kafka.topicPartitions
        )
        try changelog.validate(kafka)
        if changelog.enabled, sync.enabled {
            let name = changelog.topicName(groupID: kafka.groupID)
            try check(
                name != (sync.topic ?? kafka.groupID + ".model-sync"),
                "changelog.topic",
                "must differ from the sync topic",
                "'\(name)'"
            )
        }
        // Snapshots
        try check(!snapshots.directory.isEmpty, "snapshots.directory", "must not be empty", "\"\"")
        try check(
            snapshots.everyEvents >= 0,
            "snapshots.every_events",
            "must be >= 0 (0 = by time only)",
            snapshots.everyEvents
        )
        try check(
            snapshots.everySeconds.isFinite && snapshots.everySeconds >= 0,
            "snapshots.every_seconds",
            "must be >= 0",
            snapshots.everySeconds
        )
        try check(
            snapshots.everyEvents > 0 || snapshots.everySeconds > 0,
            "snapshots",
            "every_events and every_seconds can't both be 0",
            0
        )
        try check(
            snapshots.retain >= 1 && snapshots.retain <= 1000,
            "snapshots.retain",
            "must be in 1...1000",
            snapshots.retain
        )
        try check(
            snapshots.maxUnsavedSeconds.isFinite && snapshots.maxUnsavedSeconds > 0,
            "snapshots.max_unsaved_seconds",
            "must be > 0",
            snapshots.maxUnsavedSeconds
        )
        // HTTP
        if http.enabled {
            try check(
                (1...65_535).contains(http.port),
                "http.port",
                "must be in 1...65535 (set http.enabled = false to disable HTTP)",
                http.port
            )
            try check(!http.host.isEmpty, "http.host", "must not be empty", "\"\"")
        }
        try check(
            http.idleTimeoutSeconds.isFinite && http.idleTimeoutSeconds >= 0.1 && http.idleTimeoutSeconds <= 3600,
            "http.idle_timeout_seconds",
            "must be in 0.1...3600",
            http.idleTimeoutSeconds
        )
        try check(http.readinessMaxLag >= 0, "http.readiness_max_lag", "must be >= 0", http.readinessMaxLag)
        try check(
            (1...100_000_000).contains(http.remoteListsMaxUsers),
            "http.remote_lists_max_users",
            "must be in 1...100000000",
            http.remoteListsMaxUsers
        )
        try check(
            (65_536...(64 << 30)).contains(http.remoteListsMaxBytes),
            "http.remote_lists_max_bytes",
            "must be in 65536...68719476736",
            http.remoteListsMaxBytes
        )
        try check(
            http.remoteListsLookbackSeconds.isFinite && http.remoteListsLookbackSeconds >= 0,
            "http.remote_lists_lookback_seconds",
            "must be >= 0 (0 = from the topic's beginning)",
            http.remoteListsLookbackSeconds
        )
        try sync.validate(kafka)
        // N learners that don't share item state each learn items from 1/N of the traffic.
        try check(
            learners == 1 || sync.enabled,
            "serve.learners",
            "needs sync.enabled = true when above 1 (each learner would "
                + "otherwise learn item state from its own partitions' events only)",
            learners
        )
        // Serve loop
        try check((1...1000).contains(k), "serve.k", "must be in 1...1000", k)
        try check((1...100_000).contains(batchSize), "serve.batch_size", "must be in 1...100000", batchSize)
        try check(
            (1...ServeConfig.maxLearners).contains(learners),
            "serve.learners",
            "must be in 1...\(ServeConfig.maxLearners)",
            learners
        )
        try check(
            minRefreshIntervalMillis >= 0,
            "serve.min_refresh_interval_ms",
            "must be >= 0",
            minRefreshIntervalMillis
        )
        try check(
            onlineEvaluationEvery >= 0,
            "serve.online_evaluation_every",
            "must be >= 0 (0 = off)",
            onlineEvaluationEvery
        )
        try check(
            exitWhenIdleMillis >= 0,
            "serve.exit_when_idle_ms",
            "must be >= 0 (0 = run forever)",
            exitWhenIdleMillis
        )
        try check(
            eventTime.maxFutureSkewMillis >= 0,
            "serve.max_future_skew_ms",
            "must be >= 0 (0 = off)",
            eventTime.maxFutureSkewMillis
        )
        try check(
            weights.maxExplicitWeight.isFinite && weights.maxExplicitWeight > 0,
            "limits.max_effective_weight",
            "must be > 0",
            weights.maxExplicitWeight
        )
        try check(
            shutdownTimeoutSeconds.isFinite && shutdownTimeoutSeconds >= 1 && shutdownTimeoutSeconds <= 3600,
            "serve.shutdown_timeout_seconds",
            "must be in 1...3600",
            shutdownTimeoutSeconds
        )
        // Input limits: a non-positive cap would dead-letter every message.
        try check(
            (64...(100 * 1024 * 1024)).contains(limits.maxMessageBytes),
            "limits.max_message_bytes",
            "must be in 64...104857600",
            limits.maxMessageBytes
        )
        try check(
            (1...65_536).contains(limits.maxIdBytes),
            "limits.max_id_bytes",
            "must be in 1...65536",
            limits.maxIdBytes
        )
        // Weights: finite, non-negative, within the range an event's own weight may take.
        for (type, w) in weights.byType.sorted(by: { $0.key < $1.key }) {
            try check(
                w.isFinite && limits.weightRange.contains(w),
                "weights.\(type)",
                "must be in \(limits.weightRange)",
                w
            )
        }
        try check(
            weights.defaultWeight.isFinite && limits.weightRange.contains(weights.defaultWeight),
            "weights.default",
            "must be in \(limits.weightRange)",
            weights.defaultWeight
        )
        try check(
            Logger.Level(rawValue: logLevel) != nil,
            "logging.level",
            "must be one of trace, debug, info, notice, warning, error, critical",
            "'\(logLevel)'"
        )
    }

    /// Kafka's topic name rule (legal characters, at most 249).
    static func isValidTopicName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 249, name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F
                || c == 0x2D
        }
    }

    /// Kubernetes injects `<SERVICE>_SERVICE_HOST`, `<SERVICE>_SERVICE_PORT[_<NAME>]`, `<SERVICE>_PORT=tcp://…`
    /// and `<SERVICE>_PORT_<n>_<PROTO>[_PROTO|_PORT|_ADDR]` for every service in the namespace; a service
    /// named e.g. `streamrec-kafka` therefore produces `STREAMREC_KAFKA_*` variables that are not settings.
    static func isServiceLink(name: String, value: String) -> Bool {
        let parts = name.split(separator: "_")
        if name.hasSuffix("_SERVICE_HOST") || name.contains("_SERVICE_PORT") { return true }
        for scheme in ["tcp://", "udp://", "sctp://"] where value.hasPrefix(scheme) { return true }
        // …_PORT_8080_TCP[_PROTO|_PORT|_ADDR]
        return parts.indices.contains { i in
            parts[i] == "PORT" && i + 2 < parts.count && Int(parts[i + 1]) != nil
                && ["TCP", "UDP", "SCTP"].contains(parts[i + 2])
        }
    }
}
