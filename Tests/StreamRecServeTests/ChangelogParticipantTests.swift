import Foundation
import StreamRecCore
import StreamRecKafka
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// The changelog participant's bookkeeping without a broker: which users a capture freezes for which
/// partition, what the snapshot section carries across a restart, and what revocation drops.
@Suite("user-state changelog: capture, snapshot section, revocation")
struct ChangelogParticipantTests {
    func environment(_ learner: LiveLearner) -> ServeEnvironment {
        var c = ServeConfig()
        c.kafka.bootstrapServers = "127.0.0.1:1"  // the producer is created, never used here
        c.kafka.groupID = "g"
        c.changelog.enabled = true
        return ServeEnvironment(
            config: c,
            learner: learner,
            status: ServeStatus(),
            metrics: StreamRecMetrics(recallK: 10),
            logger: quietLogger,
            watchdog: ShutdownWatchdog(seconds: 60, logger: quietLogger, onExpiry: {}),
            stop: StopFlag()
        )
    }

    /// Learns `user` × `item` from partition `p` through the participant's per-event hook.
    func learn(
        _ changelog: UserStateChangelog,
        _ learner: LiveLearner,
        user: String,
        item: String,
        partition p: Int32,
        offset: Int64
    ) {
        let event = Event(user: user, item: item, timestamp: 1_000 + offset)
        let message = KafkaMessage(topic: "events", partition: p, offset: offset, key: Array(user.utf8), value: [])
        learner.update { l in
            let result = Result { () throws(NonFiniteModelError) -> OnlineLearner.Interaction in
                try l.learn(user: user, item: item, timestamp: event.timestamp, weight: 1)
            }
            changelog.learned(event, from: message, outcome: .init(result: result, learnDuration: nil), learner: &l)
        }
    }

    @Test(
        "a capture freezes each partition's changed users and counts; a restart gets them back; revocation drops only that partition's users"
    )
    func bookkeeping() throws {
        let learner = LiveLearner(try OnlineLearner(config: ModelConfig()))
        let changelog = try UserStateChangelog(env: environment(learner))
        let p0 = TopicPartition("events", 0)
        let p1 = TopicPartition("events", 1)
        changelog.assignedPartitions = [p0, p1]
        changelog.held = [p0, p1]
        for i in 0..<30 {
            let p = Int32(i % 2)
            learn(changelog, learner, user: "u\(i % 6)-p\(p)", item: "i\(i % 7)", partition: p, offset: Int64(i / 2))
        }
        var snap = learner.read {
            LearnerSnapshot(learner: $0, position: SourcePosition(offsets: [p0: 15, p1: 15]), createdAt: 0)
        }
        changelog.capturing(&snap)
        #expect(changelog.pending[p0] == Set(["u0-p0", "u2-p0", "u4-p0"]))
        #expect(changelog.pending[p1] == Set(["u1-p1", "u3-p1", "u5-p1"]))
        let section = try ChangelogSnapshotSection(
            decoding: try #require(snap.extensions[ChangelogSnapshotSection.key])
        )
        #expect(section.partitions.map(\.learned) == [15, 15])
        #expect(section.partitions.allSatisfy { $0.held })

        // Users changed after the capture are the next capture's; unwritten ones stay pending.
        learn(changelog, learner, user: "late", item: "i1", partition: 1, offset: 15)
        var next = learner.read {
            LearnerSnapshot(learner: $0, position: SourcePosition(offsets: [p0: 15, p1: 16]), createdAt: 0)
        }
        changelog.capturing(&next)
        #expect(changelog.pending[p1]?.contains("late") == true && changelog.pending[p1]?.count == 4)

        // A restarted learner resumes the same bookkeeping from the snapshot section.
        let restarted = try UserStateChangelog(env: environment(learner))
        try restarted.restored(next, learner: learner)
        #expect(restarted.held == [p0, p1])
        #expect(restarted.pending == changelog.pending)
        #expect(restarted.learnedCounts[Int(restarted.partitionIndex[p1]!)] == 16)
        #expect(restarted.slotPartition == Array(changelog.slotPartition.prefix(7)))  // 7 user slots

        // Revocation: bookkeeping stops at once; the users leave memory at the next tick, p1's stay.
        changelog.revoked([p0], lost: false, learner: learner)
        #expect(changelog.pending[p0] == nil && !changelog.assignedPartitions.contains(p0))
        #expect(learner.read { $0.users.index(of: "u0-p0") } != nil)
        try changelog.tick(learner: learner, now: 0)
        #expect(!changelog.held.contains(p0) && changelog.held.contains(p1))
        learner.read { l in
            for u in ["u0-p0", "u2-p0", "u4-p0"] { #expect(l.users.index(of: u) == nil) }
            for u in ["u1-p1", "u3-p1", "u5-p1", "late"] { #expect(l.users.index(of: u) != nil) }
        }
    }
}
