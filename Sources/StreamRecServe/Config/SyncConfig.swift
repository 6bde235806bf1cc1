public import Configuration
public import StreamRecCore

/// The `sync` section: sharing item state between the learners of one group through a model-sync topic
/// (``ItemSyncLink``, docs/scale-out.md). Off by default; a single learner needs none of it.
public struct SyncConfig: Sendable, Equatable {
    public var enabled = false
    /// The model-sync topic; nil = `<kafka.group_id>.model-sync`.
    public var topic: String?
    /// With sync on, a snapshot (and with it a published batch) is taken at least this often while there
    /// is something to publish: the staleness of other learners' view of this one's items.
    public var intervalMillis: Int64 = 10_000
    /// This learner's name on the topic (the records' key); nil = `kafka.instance_id`. Must be unique in
    /// the group and stable across restarts (a restarted learner recognises its own batches by it).
    public var learnerID: String?
    /// Largest record this learner writes to the sync topic: a batch above it is split into several
    /// (Kafka's default broker `message.max.bytes` is 1,048,588 bytes).
    public var maxRecordBytes = 900_000
    /// What a received batch must respect (`max_abs_delta`, `max_sequence_step`; see ``ItemDeltaLimits``).
    public var limits = ItemDeltaLimits()
    /// With a secret, batches are written with an HMAC-SHA256 tag and unsigned or wrongly signed ones are
    /// refused (``RecordSeal``); every learner of the group needs the same secret.
    public var recordSecret: RecordSecret?

    /// Cap of a record key on the sync topic (a learner id).
    public static let maxLearnerIDBytes = 255
    /// Cap of the configured `sync.learner_id`: room for `serve.learners`' "-<i>" suffix.
    public static let maxConfiguredLearnerIDBytes = 240

    public init() {}

    /// Reads the `sync` section.
    public init(reader r: ConfigReader) throws {
        self.init()
        enabled = r.bool(forKey: "enabled", default: enabled)
        let t = r.string(forKey: "topic", default: "")
        topic = t.isEmpty ? nil : t
        intervalMillis = Int64(r.int(forKey: "interval_ms", default: Int(intervalMillis)))
        let id = r.string(forKey: "learner_id", default: "")
        learnerID = id.isEmpty ? nil : id
        maxRecordBytes = r.int(forKey: "max_record_bytes", default: maxRecordBytes)
        limits.maxAbsValue = Float(r.double(forKey: "max_abs_delta", default: Double(limits.maxAbsValue)))
        limits.maxSequenceStep = UInt64(
            clamping: r.int(forKey: "max_sequence_step", default: Int(limits.maxSequenceStep))
        )
        recordSecret = r.string(forKey: "record_secret", isSecret: true).flatMap { $0.isEmpty ? nil : RecordSecret($0) }
    }

    public func resolvedTopic(_ kafka: ServeConfig.Kafka) -> String { topic ?? kafka.groupID + ".model-sync" }
    public func resolvedLearnerID(_ kafka: ServeConfig.Kafka) -> String? { learnerID ?? kafka.instanceID }

    /// Start-up checks (only what matters when sync is on is required then).
    func validate(_ kafka: ServeConfig.Kafka) throws {
        guard (100...86_400_000).contains(intervalMillis) else {
            throw ServeConfigError("sync.interval_ms must be in 100...86400000, got \(intervalMillis)")
        }
        guard (65_536...(64 << 20)).contains(maxRecordBytes) else {
            throw ServeConfigError("sync.max_record_bytes must be in 65536...67108864, got \(maxRecordBytes)")
        }
        guard limits.maxAbsValue.isFinite, (1...1e12).contains(limits.maxAbsValue) else {
            throw ServeConfigError("sync.max_abs_delta must be in 1...1e12, got \(limits.maxAbsValue)")
        }
        guard (1...1_000_000_000).contains(limits.maxSequenceStep) else {
            throw ServeConfigError("sync.max_sequence_step must be in 1...1000000000, got \(limits.maxSequenceStep)")
        }
        if let recordSecret, recordSecret.bytes.count < RecordSecret.minBytes {
            throw ServeConfigError("sync.record_secret must be at least \(RecordSecret.minBytes) bytes")
        }
        if let topic, !ServeConfig.isValidTopicName(topic) {
            throw ServeConfigError("sync.topic must be 1–249 characters of [a-zA-Z0-9._-], got '\(topic)'")
        }
        guard enabled else { return }
        let resolved = resolvedTopic(kafka)
        guard ServeConfig.isValidTopicName(resolved) else {
            throw ServeConfigError(
                "sync.topic must be 1–249 characters of [a-zA-Z0-9._-], got '\(resolved)' (set sync.topic)"
            )
        }
        guard !kafka.eventTopics.contains(resolved), resolved != kafka.recommendationsTopic,
            resolved != kafka.deadLetterTopic
        else {
            throw ServeConfigError(
                "sync.topic must differ from the event, recommendations and dead-letter topics, got '\(resolved)'"
            )
        }
        guard let id = resolvedLearnerID(kafka) else {
            throw ServeConfigError(
                "sync.learner_id must be set when sync.enabled is true (or kafka.instance_id, its default)"
            )
        }
        guard id.utf8.count <= Self.maxConfiguredLearnerIDBytes,
            !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw ServeConfigError(
                "sync.learner_id must be 1–\(Self.maxConfiguredLearnerIDBytes) bytes without control characters, got \(id.utf8.count) bytes"
            )
        }
    }
}
