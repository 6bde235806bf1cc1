import Foundation
import StreamRecCore
import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// The user-state changelog against the real broker: learner A consumes a 4-partition topic alone and
/// stops; learner B (another snapshot directory, same group) gets all 4 partitions, restores their users
/// from the changelog with exactly A's state, continues at A's offsets, and learns the rest.
@Suite(
    "user-state changelog against a real broker",
    .serialized,
    .realBroker
)
struct ChangelogBrokerTests {
    struct Names {
        let topic = uniqueName("events"), recs = uniqueName("recs"), dlq = uniqueName("dlq"),
            group = uniqueName("group")
        var changelog: String { group + ".user-state" }
    }

    func configuration(_ n: Names, bootstrap: String, snapshots: String) -> ServeConfig {
        var c = ServeConfig()
        c.kafka.bootstrapServers = bootstrap
        c.kafka.eventTopics = [n.topic]
        c.kafka.recommendationsTopic = n.recs
        c.kafka.deadLetterTopic = n.dlq
        c.kafka.groupID = n.group
        // Dynamic membership: a static member (group.instance.id) sends no LeaveGroup on close, so its
        // partitions would wait for its session timeout (never, on noida-db) before moving to B.
        c.kafka.instanceID = nil
        c.kafka.topicPartitions = 4
        c.changelog.enabled = true
        c.snapshots.directory = snapshots
        c.snapshots.everyEvents = 250  // several snapshot → changelog → commit rounds per run
        // B starts without a snapshot while the group has committed offsets: with the changelog that is a
        // new member joining, not a lost directory, so even "refuse" must not stop it.
        c.snapshots.onMissing = .refuse
        c.http.enabled = false
        c.exitWhenIdleMillis = 2500
        return c
    }

    /// Samples a learner's `/stats` partitions while it has all four, on a thread of its own (the
    /// cooperative pool can be starved for seconds by other suites' blocking work).
    final class PartitionSampler: @unchecked Sendable {
        private let lock = NSLock()
        private var last: [ServeStatus.PartitionState] = []
        private var stopped = false

        init(_ status: ServeStatus) {
            Thread { [self] in
                while !lock.withLock({ stopped }) {
                    let parts = status.current.partitions
                    if parts.count == 4, parts.allSatisfy({ $0.learnedEvents != nil }) {
                        lock.withLock { last = parts.sorted { $0.partition < $1.partition } }
                    }
                    Thread.sleep(forTimeInterval: 0.005)
                }
            }.start()
        }

        func stop() -> [ServeStatus.PartitionState] {
            lock.withLock {
                stopped = true
                return last
            }
        }
    }

    /// Runs a learner until it idles out; returns it and the last sample of its four partitions.
    func run(
        _ config: ServeConfig
    ) async throws -> (service: StreamingLearnerService, partitions: [ServeStatus.PartitionState]) {
        let status = ServeStatus()
        let service = try StreamingLearnerService(configuration: config, status: status, logger: quietLogger)
        let sampler = PartitionSampler(status)
        do {
            try await service.run()
        } catch {
            _ = sampler.stop()
            throw error
        }
        return (service, sampler.stop())
    }

    @Test("partitions move to a new learner with their users' state; every event is learned exactly once")
    func handOver() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let admin = try KafkaAdmin(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        try admin.createTopics([
            .init(n.topic, partitions: 4), .init(n.recs, partitions: 4, config: ["cleanup.policy": "compact"]),
            .init(n.dlq, partitions: 1),
        ])
        let log = try sampleEvents(1600, users: 60, items: 150)
        let first = Array(log[0..<1000])
        let rest = Array(log[1000...])
        try produce(first, to: n.topic, bootstrap: bootstrap)

        // A learns the first 1000 events alone, then stops (final snapshot → changelog → commit, leaves).
        let dirA = try temporaryDirectory()
        let dirB = try temporaryDirectory()
        let a = try await run(configuration(n, bootstrap: bootstrap, snapshots: dirA))
        let aLearner = a.service.learner.read { $0 }
        let aPositions = try #require(try SnapshotStore(directory: dirA).loadNewestGood()).snapshot.position
            .offsetsByPartition
        #expect(aPositions.values.reduce(0, +) == Int64(first.count))
        #expect(a.partitions.compactMap(\.learnedEvents).reduce(0, +) == Int64(first.count))

        // B, with no snapshot, gets all four partitions and restores them: A's users with A's exact state,
        // starting at A's final offsets, with A's learned counts.
        let b1 = try await run(configuration(n, bootstrap: bootstrap, snapshots: dirB))
        let bLearner = b1.service.learner.read { $0 }
        let users = Set(first.map(\.user))
        #expect(aLearner.users.count == users.count)  // a shutdown's revocation keeps the final model whole
        #expect(bLearner.users.count == users.count)
        for user in users.sorted() { #expect(bLearner.exportUser(user) == aLearner.exportUser(user), "\(user)") }
        #expect(b1.partitions.count == 4)
        for p in b1.partitions { #expect(p.position == aPositions[p.key], "\(p.key)") }
        #expect(b1.partitions.compactMap(\.learnedEvents).reduce(0, +) == Int64(first.count))
        let text = b1.service.metrics.render()
        let restored = text.split(separator: "\n").first {
            $0.hasPrefix(StreamRecMetrics.ChangelogName.restoredUsers + " ")
        }
        #expect(restored?.hasSuffix(" \(users.count)") == true || restored?.hasSuffix(" \(users.count).0") == true)

        // B learns the rest; the changelog's final checkpoints account for every event exactly once.
        try produce(rest, to: n.topic, bootstrap: bootstrap)
        let b2 = try await run(configuration(n, bootstrap: bootstrap, snapshots: dirB))
        #expect(b2.partitions.compactMap(\.learnedEvents).reduce(0, +) == Int64(log.count))
        let checkpoints = try coveringCheckpoints(n, bootstrap: bootstrap, events: log.count)
        // Every user of the whole log is in B's model, and the ones A saw carry on from A's state.
        let bFinal = b2.service.learner.read { $0 }
        #expect(bFinal.users.count == Set(log.map(\.user)).count)
        // B restarted: its own snapshot is at the checkpoints, so it keeps its state (imports nothing).
        let b3 = try await run(configuration(n, bootstrap: bootstrap, snapshots: dirB))
        #expect(b3.service.learner.read { $0.users.count } == Set(log.map(\.user)).count)
        #expect(b3.partitions.compactMap(\.learnedEvents).reduce(0, +) == Int64(log.count))
        for p in b3.partitions { #expect(p.position == checkpoints[p.key]?.next, "\(p.key)") }
        let kept = b3.service.metrics.render().split(separator: "\n").first {
            $0.hasPrefix(StreamRecMetrics.ChangelogName.restoredUsers + " ")
        }
        #expect(kept?.hasSuffix(" 0") == true || kept?.hasSuffix(" 0.0") == true)

        let restoreSeconds = text.split(separator: "\n").first {
            $0.hasPrefix(StreamRecMetrics.ChangelogName.restoreSeconds + " ")
        }
        let records = text.split(separator: "\n").first {
            $0.hasPrefix(StreamRecMetrics.ChangelogName.restoreRecords + " ")
        }
        print("changelog restore: \(restoreSeconds ?? "?"), \(records ?? "?"), users \(users.count)")
    }
}

extension ChangelogBrokerTests {
    /// The changelog's newest checkpoint per partition, checked for what exactly once means: one for each
    /// of the 4 partitions, each at its partition's end, learned counts adding up to `events`.
    func coveringCheckpoints(_ n: Names, bootstrap: String, events: Int) throws -> [TopicPartition: ChangelogCheckpoint]
    {
        var checkpoints: [TopicPartition: ChangelogCheckpoint] = [:]
        for m in try readAll(n.changelog, bootstrap: bootstrap) where ChangelogCheckpoint.isCheckpointKey(m.key) {
            let cp = try ChangelogCheckpoint(decoding: m.value)
            checkpoints[cp.topicPartition] = cp
        }
        #expect(checkpoints.count == 4)
        #expect(checkpoints.values.map(\.learned).reduce(0, +) == Int64(events))
        let consumer = try KafkaConsumer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        defer { try? consumer.close() }
        for (tp, cp) in checkpoints {
            #expect(cp.next == (try consumer.watermarkOffsets(topic: tp.topic, partition: tp.partition).high))
        }
        return checkpoints
    }
}

extension ChangelogBrokerTests {
    @Test(
        "two learners in one group, one joining mid-stream: rebalances keep or move partitions, every event learned exactly once"
    )
    func joinMidStream() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let admin = try KafkaAdmin(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        try admin.createTopics([
            .init(n.topic, partitions: 4), .init(n.recs, partitions: 4, config: ["cleanup.policy": "compact"]),
            .init(n.dlq, partitions: 1),
        ])
        let log = try sampleEvents(1600, users: 80, items: 150, seed: 9)
        try produce(Array(log[0..<1000]), to: n.topic, bootstrap: bootstrap)

        // Idle exit long enough for a rebalance on the local broker (a few seconds) not to end either learner.
        var config = configuration(n, bootstrap: bootstrap, snapshots: try temporaryDirectory())
        config.exitWhenIdleMillis = 8000
        let statusA = ServeStatus()
        let a = try StreamingLearnerService(configuration: config, status: statusA, logger: quietLogger)
        let runA = Task { try await a.run() }
        for _ in 0..<600 where statusA.current.eventsLearned < 200 { try await Task.sleep(for: .milliseconds(50)) }
        // B joins while A is learning: A hands over (snapshot → changelog → commit), keeps or drops each partition.
        let statusB = ServeStatus()
        config.snapshots.directory = try temporaryDirectory()
        let b = try StreamingLearnerService(configuration: config, status: statusB, logger: quietLogger)
        let runB = Task { try await b.run() }
        for _ in 0..<600 where statusB.current.partitions.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!statusB.current.partitions.isEmpty, "B was never assigned a partition")
        try produce(Array(log[1000...]), to: n.topic, bootstrap: bootstrap)
        try await runA.value
        try await runB.value
        // Both learned, and no event was applied by both (each learner counts what it applied itself).
        #expect(statusA.current.eventsLearned > 0 && statusB.current.eventsLearned > 0)
        #expect(statusA.current.eventsLearned + statusB.current.eventsLearned == Int64(log.count))

        _ = try coveringCheckpoints(n, bootstrap: bootstrap, events: log.count)
    }
}

/// Restore throughput (run on demand: `STREAMREC_CHANGELOG_BENCH_USERS=20000`): a changelog with every
/// user of a trained learner on 4 partitions, restored by the participant's assignment hook into an empty
/// learner, beside the baseline of loading the same learner from a local snapshot file.
@Suite(
    "user-state changelog restore throughput",
    .serialized,
    .enabled(if: TestBroker.enabled && ProcessInfo.processInfo.environment["STREAMREC_CHANGELOG_BENCH_USERS"] != nil)
)
struct ChangelogRestoreBench {
    @Test("restore records/s vs snapshot load")
    func restoreThroughput() throws {
        let bootstrap = try TestBroker.bootstrap()
        let userCount = Int(ProcessInfo.processInfo.environment["STREAMREC_CHANGELOG_BENCH_USERS"] ?? "") ?? 20_000
        let events = try sampleEvents(userCount * 10, users: userCount, items: 2_000, seed: 11)
        var trained = try OnlineLearner(config: ModelConfig())
        for e in events { _ = try? trained.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1) }

        let group = uniqueName("bench")
        let topic = uniqueName("events")
        var config = ServeConfig()
        config.kafka.bootstrapServers = bootstrap
        config.kafka.groupID = group
        config.kafka.eventTopics = [topic]
        config.changelog.enabled = true
        let changelogTopic = config.changelog.topicName(groupID: group)
        let admin = try KafkaAdmin(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        try admin.createTopics([.init(changelogTopic, partitions: 4, config: ["cleanup.policy": "compact"])])
        let producer = try KafkaProducer(configuration: config.producerKafkaConfig, logger: quietLogger)
        var bytes = 0
        let ids = trained.users.ids.filter { !$0.isEmpty }
        for id in ids {
            let value = trained.exportUser(id)!.encoded()
            bytes += value.count
            try producer.send(
                topic: changelogTopic,
                partition: Int32(crc32Partition(id, 4)),
                key: Array(id.utf8),
                value: value
            )
        }
        let partitions = (0..<4).map { TopicPartition(topic, Int32($0)) }
        for tp in partitions {
            try producer.send(
                topic: changelogTopic,
                partition: tp.partition,
                key: ChangelogCheckpoint.key(tp),
                value: ChangelogCheckpoint(topicPartition: tp, next: 1, learned: 1).encoded()
            )
        }
        try producer.flush(timeout: .seconds(120))

        let learner = LiveLearner(try OnlineLearner(config: ModelConfig()))
        let env = ServeEnvironment(
            config: config,
            learner: learner,
            status: ServeStatus(),
            metrics: StreamRecMetrics(recallK: 10),
            logger: quietLogger,
            watchdog: ShutdownWatchdog(seconds: 600, logger: quietLogger, onExpiry: {}),
            stop: StopFlag()
        )
        let changelog = try UserStateChangelog(env: env)
        // The broker read alone (consumer start-up + fetch), then the whole hook (read + decode + import).
        let tr = ContinuousClock.now
        _ = try changelog.reader.read(partitions: [0, 1, 2, 3], timeout: .seconds(300))
        let readOnly = (ContinuousClock.now - tr) / .seconds(1)
        var start: [TopicPartition: Int64] = [:]
        let t0 = ContinuousClock.now
        changelog.assigned(partitions, start: &start, learner: learner)
        let restore = (ContinuousClock.now - t0) / .seconds(1)
        #expect(changelog.fatal == nil)
        #expect(learner.read { $0.users.count } == ids.count)

        let dir = try temporaryDirectory()
        let store = try SnapshotStore(directory: dir)
        let t1 = ContinuousClock.now
        _ = try store.write(LearnerSnapshot(learner: trained, position: SourcePosition(), createdAt: 0))
        let write = (ContinuousClock.now - t1) / .seconds(1)
        let t2 = ContinuousClock.now
        _ = try store.loadNewestGood()
        let load = (ContinuousClock.now - t2) / .seconds(1)
        print(
            String(
                format:
                    "changelog restore bench: %d users (%d record bytes, %.0f B/user): restore %.2f s = %.0f users/s, %.1f MB/s (broker read alone %.2f s); "
                    + "baseline snapshot of the whole learner: write %.2f s, load %.2f s",
                ids.count,
                bytes,
                Double(bytes) / Double(ids.count),
                restore,
                Double(ids.count) / restore,
                Double(bytes) / restore / 1e6,
                readOnly,
                write,
                load
            )
        )
    }
}
