import Logging
import StreamRecCore
import StreamRecKafka

/// Lost partitions: exactly once on the item side.
///
/// When librdkafka reports partitions as **lost** (a missed session timeout or fencing on Kafka; on the
/// local broker noida-db also an offset commit that races another member's join or leave, which it
/// rejects with ILLEGAL_GENERATION while Kafka accepts it), the hand-over snapshot can't be made: the
/// partitions may already be someone else's. Their next owner — another learner, or this one when they
/// come back — continues from the last durable changelog checkpoint, so whatever this learner learned
/// after its last durable snapshot would be learned twice: item deltas published twice on the sync topic,
/// event counters over the events produced. So the learner, its participants (changelog bookkeeping,
/// sync stream and read position) and its partition positions go back to that snapshot; partitions it
/// still holds (incremental rebalancing) are sought back to the snapshot's offsets and re-learned, others'
/// sync batches applied since are read again. Lists already sent for the rolled-back events are sent
/// again when they are re-learned (the recommendations topic is keyed by user: the newest wins).
extension ServeLoop {
    func rollBack(lost: [TopicPartition]) {
        let learned = env.learner.read { $0.counters.events }
        guard learned != (lastDurable?.events ?? 0) else { return }  // nothing learned since: nothing to undo
        do {
            let snapshot = try lastDurable.map { try SnapshotStore.load(path: $0.path, expectedConfig: config.model) }
            env.learner.replace(with: try snapshot?.learner ?? OnlineLearner(config: config.model))
            let ranking = config.ranking
            env.learner.update { $0.setRanking($0.config.ranker == .mf ? ranking : .exact) }
            snapshots.rolledBack()
            partitions.reset(to: snapshot?.position)
            refresh.clear()
            due.removeAll()
            for participant in participants { try participant.rolledBack(to: snapshot, learner: env.learner) }
            var kept: [TopicPartition: Int64] = [:]
            // Nil while the consumer is being closed (a fatal error re-creates it): nothing is kept then.
            for tp in (try? consumer.assignment()) ?? [] where !lost.contains(tp) {
                guard let next = snapshot?.position.offset(of: tp) else {
                    throw ServeConfigError("partition \(tp) is still assigned but not in the snapshot rolled back to")
                }
                kept[tp] = next
            }
            if !kept.isEmpty { try consumer.seek(kept) }
            let events = snapshot?.learner.counters.events ?? 0
            env.status.update {
                $0.eventsLearned = events
                $0.rollbacks += 1
            }
            logger.warning(
                "partitions lost: rolled back to the last durable snapshot (its events are learned again by whoever owns them)",
                metadata: [
                    "snapshot": "\(lastDurable?.path ?? "none (fresh model)")", "events_undone": "\(learned - events)",
                    "kept_partitions": "\(kept.count)",
                ]
            )
        } catch {
            // The loop stops and the supervisor restarts from the newest snapshot: the same rollback.
            logger.critical("rollback after lost partitions failed: stopping", metadata: ["error": "\(error)"])
            rollbackFailure = error
        }
    }
}
