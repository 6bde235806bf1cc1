import Foundation
import StreamRecCore
import StreamRecTestSupport
import Synchronization
import Testing

@testable import StreamRecServe

@Suite("fault handling without a broker: directory lock, identity, readiness, watchdog, metrics")
struct FaultHandlingTests {
    @Test("a second learner on the same snapshot directory fails fast with a clear message")
    func directoryLock() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var first: SnapshotDirectoryLock? = try SnapshotDirectoryLock(directory: dir)
        do {
            _ = try SnapshotDirectoryLock(directory: dir)
            Issue.record("second lock acquired")
        } catch {
            #expect("\(error)".contains("in use by another streamrec process (pid \(getpid()))"), "\(error)")
        }
        withExtendedLifetime(first) {}
        first = nil  // released: the next learner may take it
        _ = try SnapshotDirectoryLock(directory: dir)
    }

    @Test("the directory records its group and topics; another group or a dropped topic is refused")
    func identity() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SnapshotIdentity.claim(directory: dir, group: "g", topics: ["clicks"])
        try SnapshotIdentity.claim(directory: dir, group: "g", topics: ["clicks"])
        #expect(throws: ServeConfigError.self) {
            try SnapshotIdentity.claim(directory: dir, group: "other", topics: ["clicks"])
        }
        try SnapshotIdentity.claim(directory: dir, group: "g", topics: ["clicks", "views"])  // adding a topic is fine
        #expect(throws: ServeConfigError.self) {
            try SnapshotIdentity.claim(directory: dir, group: "g", topics: ["views"])
        }
        let position = SourcePosition(offsets: [.init(topic: "clicks", partition: 0, offset: 5)])
        try SnapshotIdentity.verify(position, topics: ["clicks"], path: "p")
        #expect(throws: ServeConfigError.self) { try SnapshotIdentity.verify(position, topics: ["views"], path: "p") }
    }

    @Test("readiness fails while the broker is unreachable or snapshots are overdue")
    func readiness() {
        var s = ServeStatus.Snapshot()
        s.started = true
        s.partitions = [.init(topic: "e", partition: 0, position: 5, highWatermark: 5)]
        s.brokerConnected = true
        #expect(ReadinessPolicy().evaluate(s).ready)
        s.brokerConnected = false
        #expect(ReadinessPolicy().evaluate(s).failing == [ReadinessPolicy.CheckName.broker])
        s.brokerConnected = true
        s.snapshotFailures = 3
        s.lastSnapshotError = "write failed: No space left on device"
        #expect(ReadinessPolicy().evaluate(s).ready)  // failing, but not yet for too long
        s.snapshotOverdue = true
        let report = ReadinessPolicy().evaluate(s)
        #expect(report.failing == [ReadinessPolicy.CheckName.snapshot])
        #expect(
            report.checks.first { $0.name == ReadinessPolicy.CheckName.snapshot }?.detail.contains("No space left")
                == true
        )
    }

    @Test("the watchdog fires when shutdown overruns, and not when it finishes in time")
    func watchdog() {
        let fired = Atomic<Int>(0)
        let late = ShutdownWatchdog(seconds: 0.2, logger: quietLogger) { fired.add(1, ordering: .relaxed) }
        late.arm(reason: "test")
        late.arm(reason: "twice")  // idempotent
        Thread.sleep(forTimeInterval: 1)
        #expect(fired.load(ordering: .relaxed) == 1)
        let prompt = ShutdownWatchdog(seconds: 0.2, logger: quietLogger) { fired.add(1, ordering: .relaxed) }
        prompt.arm(reason: "test")
        prompt.disarm()
        Thread.sleep(forTimeInterval: 0.6)
        #expect(fired.load(ordering: .relaxed) == 1)
    }

    @Test("fault gauges and the seen-set counter are exported")
    func metrics() throws {
        var config = ModelConfig()
        config.maxSeenPerUser = 2
        var learner = try OnlineLearner(config: config)
        for (t, item) in ["a", "b", "c", "d"].enumerated() {
            try learner.learn(user: "u", item: item, timestamp: Int64(t), weight: 1)
        }
        #expect(learner.counters.seenForgotten == 2)
        var s = ServeStatus.Snapshot()
        s.snapshotFailures = 4
        s.lastSnapshotError = "x"
        s.producerRecreations = 1
        let metrics = StreamRecMetrics(recallK: 10)
        metrics.refresh(status: s, learner: StreamRecMetrics.LearnerFacts(learner), now: 0)
        let samples = parsePrometheus(metrics.render())
        #expect(samples[StreamRecMetrics.FaultName.snapshotFailures] == 4)
        #expect(samples[StreamRecMetrics.FaultName.snapshotFailing] == 1)
        #expect(samples[StreamRecMetrics.FaultName.brokerConnected] == 0)
        #expect(samples[StreamRecMetrics.FaultName.producerRecreations] == 1)
        #expect(samples[StreamRecMetrics.FaultName.seenForgotten] == 2)
    }
}
