public import Configuration

/// The user-state changelog (``UserStateChangelog``): each input partition's users'
/// state is written to the same partition of a compacted topic with the offsets it covers, and a learner
/// newly assigned a partition restores its users from there.
public struct ChangelogConfig: Sendable, Equatable {
    /// Off by default: one learner per group keeps every user in its own snapshot.
    public var enabled = false
    /// nil = `<kafka.group_id>.user-state` (one changelog per learner group).
    public var topic: String?
    /// Longest a partition's restore may take at assignment before the learner stops with an error
    /// (supervisor restart) rather than continue without that partition's users.
    public var restoreTimeoutMillis = 60_000
    /// With a secret, user records and checkpoints are written with an HMAC-SHA256 tag and unsigned or
    /// wrongly signed ones are refused at restore (``RecordSeal``); every learner needs the same secret.
    public var recordSecret: RecordSecret?

    public init() {}

    /// Reads the `changelog` section.
    public init(reader r: ConfigReader) throws {
        self.init()
        enabled = r.bool(forKey: "enabled", default: enabled)
        let name = r.string(forKey: "topic", default: "")
        topic = name.isEmpty ? nil : name
        restoreTimeoutMillis = r.int(forKey: "restore_timeout_ms", default: restoreTimeoutMillis)
        recordSecret = r.string(forKey: "record_secret", isSecret: true).flatMap { $0.isEmpty ? nil : RecordSecret($0) }
    }

    /// The topic for learner group `groupID`.
    public func topicName(groupID: String) -> String { topic ?? groupID + ".user-state" }

    /// Start-up checks; `kafka` names the topics it must not collide with. The topic is checked only
    /// when enabled (a group id may hold characters a topic name can't).
    func validate(_ kafka: ServeConfig.Kafka) throws {
        guard (100...3_600_000).contains(restoreTimeoutMillis) else {
            throw ServeConfigError("changelog.restore_timeout_ms must be in 100...3600000, got \(restoreTimeoutMillis)")
        }
        if let recordSecret, recordSecret.bytes.count < RecordSecret.minBytes {
            throw ServeConfigError("changelog.record_secret must be at least \(RecordSecret.minBytes) bytes")
        }
        guard enabled else { return }
        let name = topicName(groupID: kafka.groupID)
        guard ServeConfig.isValidTopicName(name) else {
            throw ServeConfigError(
                "changelog.topic must be 1–249 characters of [a-zA-Z0-9._-], got '\(name)'"
                    + (topic == nil ? " (derived from kafka.group_id)" : "")
            )
        }
        guard !(kafka.eventTopics + [kafka.recommendationsTopic, kafka.deadLetterTopic]).contains(name) else {
            throw ServeConfigError(
                "changelog.topic must differ from the event, recommendations and dead-letter topics, got '\(name)'"
            )
        }
    }
}
