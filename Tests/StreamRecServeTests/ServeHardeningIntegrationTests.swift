import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecTestSupport
import Synchronization
import Testing

@testable import StreamRecServe

/// Hardening checks of `serve` that need the real broker.
@Suite(
    "serve hardening against a real broker",
    .serialized,
    .realBroker
)
struct ServeHardeningIntegrationTests {
    typealias Names = ServeIntegrationTests.Names

    func configuration(_ n: Names, bootstrap: String, snapshots: String) -> ServeConfig {
        ServeIntegrationTests().configuration(n, bootstrap: bootstrap, snapshots: snapshots)
    }

    @Test("dead letters keep the source key; a flood of bad messages logs a bounded number of lines")
    func deadLetterKeysAndLogVolume() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        let producer = try KafkaProducer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        for i in 0..<300 {
            try producer.send(topic: n.topic, key: Array("bad-\(i)".utf8), value: Array("{nope \(i)".utf8))
        }
        try producer.flush(timeout: .seconds(30))
        let dir = try temporaryDirectory()
        let capture = LogCapture()
        let service = try StreamingLearnerService(
            configuration: configuration(n, bootstrap: bootstrap, snapshots: dir),
            logger: capture.logger
        )
        try await service.run()
        let dead = try readAll(n.dlq, bootstrap: bootstrap)
        #expect(dead.count == 300)
        #expect(dead.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == (0..<300).map { "bad-\($0)" })
        let lines = capture.count(.warning, containing: "dead-lettered message")
        #expect(lines >= 1 && lines <= 20, "\(lines) dead-letter log lines for 300 bad messages")
    }
}

extension ServeHardeningIntegrationTests {
    /// Polls `condition` every 50 ms for up to `seconds`; returns whether it became true. Sleeps with
    /// Task.sleep: blocking a cooperative thread would starve the service task under test.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }

    /// Runs `serve` over 2,000 events with the fatal error `faults` injects after 1,000 of them, to the
    /// end of the log.
    func runWithInjectedFatalError(
        _ faults: FaultInjection
    ) async throws -> (status: ServeStatus, events: [Event], names: Names, dir: String, bootstrap: String) {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let events = try sampleEvents(2000)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(events, to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        var c = configuration(n, bootstrap: bootstrap, snapshots: dir)
        c.batchSize = 100
        let status = ServeStatus()
        let service = try StreamingLearnerService(
            configuration: c,
            status: status,
            logger: quietLogger,
            loopHook: faults
        )
        let run = Task { try await service.run() }
        try await run.value
        // Every event learned exactly once: the final model equals one that learned the log in order.
        let loaded = try #require(try SnapshotStore(directory: dir).loadNewestGood())
        #expect(loaded.snapshot.learner == (try referenceLearner(events)))
        return (status, events, n, dir, bootstrap)
    }

    @Test("a fatal producer error is handled in-process: new producer, lost lists re-sent, learner keeps going")
    func producerFatalErrorRecovered() async throws {
        let r = try await runWithInjectedFatalError(FaultInjection(producerFatalErrorAt: 1000))
        #expect(r.status.current.producerRecreations == 1)
        // Every user has a latest list in the recommendations topic.
        let lists = try readAll(r.names.recs, bootstrap: r.bootstrap)
        let keyed = Set(lists.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } })
        #expect(keyed == Set(r.events.map(\.user)))
    }

    @Test("a fatal consumer error is handled in-process: new consumer, learning resumes exactly where it stopped")
    func consumerFatalErrorRecovered() async throws {
        let r = try await runWithInjectedFatalError(FaultInjection(consumerFatalErrorAt: 1000))
        #expect(r.status.current.consumerRecreations == 1)
        #expect(r.status.current.eventsConsumed == Int64(r.events.count))
    }

    @Test("snapshot failures are counted, backed off, fail readiness, and a failed final snapshot fails the run")
    func snapshotFailuresVisible() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let events = try sampleEvents(1200)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(Array(events[..<600]), to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        var c = configuration(n, bootstrap: bootstrap, snapshots: dir)
        c.snapshots.everyEvents = 200
        c.snapshots.maxUnsavedSeconds = 1
        c.exitWhenIdleMillis = 6000
        let status = ServeStatus()
        let service = try StreamingLearnerService(configuration: c, status: status, logger: quietLogger)
        let run = Task { try await service.run() }
        #expect(
            await Self.eventually(60) { status.current.lastSnapshot != nil && status.current.eventsConsumed >= 600 }
        )
        // The disk "fails": the directory becomes a file, so every write gets ENOTDIR.
        try FileManager.default.moveItem(atPath: dir, toPath: dir + ".moved")
        #expect(FileManager.default.createFile(atPath: dir, contents: Data("not a directory".utf8)))
        try produce(Array(events[600...]), to: n.topic, bootstrap: bootstrap)
        #expect(await Self.eventually(30) { status.current.snapshotOverdue })
        let failing = status.current
        #expect(failing.snapshotFailures >= 1)
        #expect(failing.lastSnapshotError?.contains("Not a directory") == true, "\(failing.lastSnapshotError ?? "nil")")
        #expect(ReadinessPolicy().evaluate(failing).failing.contains(ReadinessPolicy.CheckName.snapshot))
        let facts = service.learner.read { StreamRecMetrics.LearnerFacts($0) }
        service.metrics.refresh(status: failing, learner: facts, now: 0)
        let samples = parsePrometheus(service.metrics.render())
        #expect((samples[StreamRecMetrics.FaultName.snapshotFailures] ?? 0) >= 1)
        #expect(samples[StreamRecMetrics.FaultName.snapshotOverdue] == 1)
        // Backoff (1, 2, 4 s…): a few attempts in several seconds, not ten per second.
        try await Task.sleep(for: .seconds(3))
        #expect(status.current.snapshotFailures <= 5, "\(status.current.snapshotFailures) attempts")
        await #expect(throws: (any Error).self) { try await run.value }
        // Nothing was committed past the last durable snapshot.
        let durable = try #require(try SnapshotStore(directory: dir + ".moved").loadNewestGood())
        #expect(
            try committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap)
                == durable.snapshot.position.offset(topic: n.topic, partition: 0)
        )
    }

    @Test("snapshot directory lost with committed offsets: rebuilt from the earliest offset, or refused")
    func lostSnapshotDirectory() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let events = try sampleEvents(900)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(Array(events[..<600]), to: n.topic, bootstrap: bootstrap)
        let first = try temporaryDirectory()
        try await StreamingLearnerService(
            configuration: configuration(n, bootstrap: bootstrap, snapshots: first),
            logger: quietLogger
        ).run()
        #expect(try committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap) == 600)
        try FileManager.default.removeItem(atPath: first)  // the volume is gone
        try produce(Array(events[600...]), to: n.topic, bootstrap: bootstrap)

        var refuse = configuration(n, bootstrap: bootstrap, snapshots: try temporaryDirectory())
        refuse.snapshots.onMissing = .refuse
        await #expect(throws: (any Error).self) {
            try await StreamingLearnerService(configuration: refuse, logger: quietLogger).run()
        }

        let second = try temporaryDirectory()
        let capture = LogCapture()
        try await StreamingLearnerService(
            configuration: configuration(n, bootstrap: bootstrap, snapshots: second),
            logger: capture.logger
        ).run()
        let loaded = try #require(try SnapshotStore(directory: second).loadNewestGood())
        // Before: a fresh model from offset 600 (300 events). Now: all 900, identical to an uninterrupted run.
        #expect(loaded.snapshot.learner.counters.events == 900)
        #expect(loaded.snapshot.learner == (try referenceLearner(events)))
        #expect(capture.count(.warning, containing: "snapshot directory was probably lost") == 1)
    }

    @Test("events dated far in the future are dead-lettered with the reason; TTL keeps every user")
    func futureEventsDeadLettered() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let good = (0..<300).map {
            Event(user: "u\($0 % 30)", item: "i\($0 % 40)", timestamp: now - 60_000 + Int64($0))
        }
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(Array(good[..<150]), to: n.topic, bootstrap: bootstrap)
        try produceRaw(
            [
                Array(#"{"user":"mallory","item":"i0","ts":253402300799999}"#.utf8),
                Array(#"{"user":"sec","item":"i1","ts":1700000000}"#.utf8),
            ],
            to: n.topic,
            bootstrap: bootstrap
        )
        try produce(Array(good[150...]), to: n.topic, bootstrap: bootstrap)
        var c = configuration(n, bootstrap: bootstrap, snapshots: try temporaryDirectory())
        c.model.userTTL = 86_400_000
        c.model.itemTTL = 86_400_000
        let service = try StreamingLearnerService(configuration: c, logger: quietLogger)
        try await service.run()
        let dead = try readAll(n.dlq, bootstrap: bootstrap)
        let reasons = try dead.map {
            try #require(JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any])["reason"] as? String
                ?? ""
        }
        #expect(reasons.count == 2)
        #expect(reasons.first?.contains("ahead of the wall clock") == true)
        #expect(reasons.last?.contains("looks like seconds") == true)
        let counters = service.learner.read { $0.counters }
        #expect(counters.userExpirations == 0 && counters.itemExpirations == 0)
        #expect(service.learner.read { $0.users.count } == 30)
    }
}
