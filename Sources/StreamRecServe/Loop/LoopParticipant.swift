import StreamRecCore
import StreamRecKafka

/// A component that keeps state beside the learner and must move in step with it: the per-partition
/// user-state changelog and the shared item-state sync. The serve loop calls every hook on
/// the learner thread (rebalance callbacks run inside `poll`, on that same thread), in registration
/// order, so a participant needs no lock of its own for state only the loop touches.
///
/// The hooks follow the loop's exactly-once order: a snapshot is captured (``capturing``), written
/// durably, then ``durable`` runs, and only then are the snapshot's offsets committed to the group. A
/// participant that persists elsewhere (a Kafka topic) does so in ``durable``, from the captured copy,
/// so what it writes covers exactly the offsets the snapshot covers.
protocol LoopParticipant: AnyObject {
    /// Once at start-up, after the newest good snapshot (if any) was loaded into the learner.
    func restored(_ snapshot: LearnerSnapshot?, learner: LiveLearner) throws

    /// Inside the learner lock, after one decoded event was applied (`outcome.result` is a failure when
    /// the SGD step was rolled back). Runs per event: no allocation on this path.
    func learned(
        _ event: Event,
        from message: KafkaMessage,
        outcome: PrequentialStep.Outcome,
        learner: inout OnlineLearner
    )

    /// Every loop iteration, outside the learner lock: poll own clients, apply remote state.
    func tick(learner: LiveLearner, now: UInt64) throws

    /// Whether this participant needs a snapshot now (e.g. its sync interval passed).
    func wantsSnapshot(now: UInt64) -> Bool

    /// At snapshot capture, under the learner lock, with nothing learned between this and the capture:
    /// add sections to `snapshot.extensions` (keyed by the participant's name).
    func capturing(_ snapshot: inout LearnerSnapshot)

    /// The snapshot is durable; its offsets are committed right after this returns. Throwing keeps the
    /// offsets uncommitted (the snapshot file itself stays).
    func durable(_ snapshot: LearnerSnapshot) throws

    /// Partitions were assigned. `start` holds the start offsets the partition book chose (absent = the
    /// group's committed offset); a participant that restores state for a partition sets its offset
    /// here, and the loop records it as the partition's position.
    func assigned(_ partitions: [TopicPartition], start: inout [TopicPartition: Int64], learner: LiveLearner)

    /// Partitions were revoked, after the hand-over snapshot (when one was needed) was made durable.
    func revoked(_ partitions: [TopicPartition], lost: Bool, learner: LiveLearner)

    /// The loop replaced the learner with `snapshot`'s (nil: a fresh model) after a lost revocation
    /// (``ServeLoop/rollBack(lost:)``): reset own state to what the snapshot holds, as ``restored`` did at
    /// start-up, and continue reading own topics from where that state left off.
    func rolledBack(to snapshot: LearnerSnapshot?, learner: LiveLearner) throws

    /// Shutdown, after the final snapshot: flush and close own clients.
    func close()
}

extension LoopParticipant {
    func restored(_ snapshot: LearnerSnapshot?, learner: LiveLearner) throws {}
    func learned(
        _ event: Event,
        from message: KafkaMessage,
        outcome: PrequentialStep.Outcome,
        learner: inout OnlineLearner
    ) {}
    func tick(learner: LiveLearner, now: UInt64) throws {}
    func wantsSnapshot(now: UInt64) -> Bool { false }
    func capturing(_ snapshot: inout LearnerSnapshot) {}
    func durable(_ snapshot: LearnerSnapshot) throws {}
    func assigned(_ partitions: [TopicPartition], start: inout [TopicPartition: Int64], learner: LiveLearner) {}
    func revoked(_ partitions: [TopicPartition], lost: Bool, learner: LiveLearner) {}
    func rolledBack(to snapshot: LearnerSnapshot?, learner: LiveLearner) throws {}
    func close() {}
}

extension ServeLoop {
    /// The participants this configuration turns on, in the order their hooks run. One line each.
    static func makeParticipants(_ env: ServeEnvironment) throws -> [any LoopParticipant] {
        var participants: [any LoopParticipant] = []
        if env.config.sync.enabled { participants.append(try ItemSyncLink(env)) }
        if env.config.changelog.enabled { participants.append(try UserStateChangelog(env: env)) }
        return participants
    }
}
