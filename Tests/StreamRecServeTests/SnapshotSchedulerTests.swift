import Foundation
import Logging
import StreamRecCore
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

@Suite("Snapshot scheduler")
struct SnapshotSchedulerTests {
    func scheduler(everyEvents: Int64, everySeconds: Double = 0) throws -> (SnapshotScheduler, ServeStatus, String) {
        let dir = try temporaryDirectory("streamrec-scheduler")
        var policy = ServeConfig.Snapshots()
        policy.directory = dir
        policy.everyEvents = everyEvents
        policy.everySeconds = everySeconds
        let status = ServeStatus()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let s = SnapshotScheduler(
            store: try SnapshotStore(directory: dir),
            policy: policy,
            status: status,
            metrics: StreamRecMetrics(),
            logger: logger
        )
        return (s, status, dir)
    }

    @Test("due after N events, not before; nothing learned means never due")
    func due() throws {
        let (s, _, dir) = try scheduler(everyEvents: 100)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(!s.isDue(now: .max / 2))
        s.eventsLearned(99)
        #expect(!s.isDue(now: 1) && s.hasUnsavedWork)
        s.eventsLearned(1)
        #expect(s.isDue(now: 1))
    }

    @Test("a background write is collected on the learner thread: path, status, counters reset")
    func writeAndCollect() throws {
        let (s, status, dir) = try scheduler(everyEvents: 10)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        s.eventsLearned(10)
        let learner = try makeLearner()
        let snap = LearnerSnapshot(
            learner: learner,
            position: SourcePosition(offsets: [TopicPartition("t", 0): 11]),
            createdAt: 5
        )
        #expect(s.start(snap, reason: "interval", startedAt: 0, wait: false) == nil)
        #expect(s.inFlight && s.eventsSinceSnapshot == 0 && !s.isDue(now: 1))
        let written = try #require(s.waitForInFlight())
        #expect(!s.inFlight)
        #expect(written.0.position.offset(of: TopicPartition("t", 0)) == 11)
        #expect(FileManager.default.fileExists(atPath: written.1))
        #expect(status.current.lastSnapshot?.path == written.1)
        #expect(status.current.lastSnapshot?.events == learner.counters.events)
        // An inline write returns its result at once.
        s.eventsLearned(3)
        let inline = try #require(s.start(snap, reason: "shutdown", startedAt: 0, wait: true))
        #expect(FileManager.default.fileExists(atPath: inline.1))
        #expect(s.eventsSinceSnapshot == 0 && status.current.snapshotFailures == 0)
    }
}
