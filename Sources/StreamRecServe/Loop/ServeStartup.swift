import Logging
import StreamRecCore
import StreamRecKafka

/// What `serve` does once before consuming: restore the newest good snapshot, create missing topics,
/// and refuse (or rebuild) when the snapshot directory was lost but the group has committed offsets.
struct ServeStartup {
    let config: ServeConfig
    let learner: LiveLearner
    let status: ServeStatus
    let logger: Logger

    /// Loads the newest good snapshot into the learner and `partitions`, and returns it; nil when there
    /// was none (a fresh model). Throws on a config mismatch or when every snapshot is corrupt: refusing to
    /// start is safer than silently discarding a trained model.
    func restoreSnapshot(from store: SnapshotStore, into partitions: PartitionBook) throws -> LearnerSnapshot? {
        do {
            guard let loaded = try store.loadNewestGood(expectedConfig: config.model) else {
                logger.info("no snapshot found: starting a fresh model", metadata: ["directory": "\(store.directory)"])
                status.update {
                    $0.snapshotLoaded = true
                    $0.loadedFrom = nil
                }
                return nil
            }
            for bad in loaded.rejected {
                logger.error(
                    "snapshot rejected, falling back to an older one",
                    metadata: ["path": "\(bad.path)", "reason": "\(bad.error)"]
                )
            }
            try SnapshotIdentity.verify(loaded.snapshot.position, topics: config.kafka.eventTopics, path: loaded.path)
            learner.replace(with: loaded.snapshot.learner)
            partitions.restore(loaded.snapshot.position)
            logger.info(
                "snapshot loaded",
                metadata: [
                    "path": "\(loaded.path)", "events": "\(loaded.snapshot.learner.counters.events)",
                    "offsets":
                        "\(loaded.snapshot.position.offsets.map { "\($0.topic)[\($0.partition)]@\($0.offset)" }.joined(separator: ","))",
                ]
            )
            status.update {
                $0.snapshotLoaded = true
                $0.loadedFrom = loaded.path
                $0.eventsLearned = loaded.snapshot.learner.counters.events
            }
            return loaded.snapshot
        } catch {
            logger.critical("cannot restore snapshot: \(error)")
            status.update { $0.snapshotLoaded = false }
            throw error
        }
    }

    func createTopics() {
        do {
            let admin = try KafkaAdmin(configuration: config.adminKafkaConfig, logger: logger)
            var topics = config.kafka.eventTopics.map {
                KafkaAdmin.NewTopic($0, partitions: config.kafka.topicPartitions)
            }
            topics.append(
                .init(
                    config.kafka.recommendationsTopic,
                    partitions: config.kafka.topicPartitions,
                    config: ["cleanup.policy": "compact"]
                )
            )
            topics.append(.init(config.kafka.deadLetterTopic, partitions: 1))
            try admin.createTopics(topics)
            if config.changelog.enabled {
                // As many partitions as the widest event topic (an existing one may differ from topic_partitions).
                let widest = config.kafka.eventTopics.compactMap { try? admin.partitionCount(of: $0) }.max() ?? 0
                try admin.createTopics([
                    .init(
                        config.changelog.topicName(groupID: config.kafka.groupID),
                        partitions: max(config.kafka.topicPartitions, Int32(widest)),
                        config: ["cleanup.policy": "compact"]
                    )
                ])
            }
        } catch {
            logger.warning("could not create topics (continuing; they may already exist): \(error)")
        }
    }

    /// No snapshot, but the group committed offsets: the snapshot directory was lost (new volume,
    /// wiped disk). Starting at the committed offsets would silently drop everything learned before
    /// them, so `rebuild` re-reads the retained log from the beginning (``PartitionBook/assigned(_:)``)
    /// and `refuse` stops with an error.
    func checkMissingSnapshot(consumer: KafkaConsumer, directory: String) throws {
        // With the user-state changelog a learner without a snapshot is expected (a new member joining):
        // the changelog's checkpoints set the start offsets; partitions without one start at the beginning.
        guard !config.changelog.enabled else { return }
        var committed: [String] = []
        for topic in config.kafka.eventTopics {
            guard let partitions = try? consumer.partitions(of: topic, timeout: .seconds(10)),
                let offsets = try? consumer.committed(partitions)
            else { continue }
            for (tp, offset) in offsets where offset >= 0 { committed.append("\(tp)@\(offset)") }
        }
        guard !committed.isEmpty else { return }
        let detail =
            "no snapshot in \(directory), but group '\(config.kafka.groupID)' has committed offsets "
            + "(\(committed.sorted().joined(separator: ","))): the snapshot directory was probably lost"
        switch config.snapshots.onMissing {
        case .refuse:
            throw ServeConfigError(
                detail + "; refusing to start (snapshots.on_missing = \"refuse\"). Restore the "
                    + "directory, or set on_missing = \"rebuild\" to re-learn from the earliest retained offsets"
            )
        case .rebuild:
            logger.warning(
                "\(detail); rebuilding the model from the earliest retained offsets (snapshots.on_missing = \"rebuild\")"
            )
        }
    }
}
