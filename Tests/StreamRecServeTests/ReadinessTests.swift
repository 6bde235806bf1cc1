import Testing

@testable import StreamRecServe

@Suite("Readiness policy")
struct ReadinessTests {
    let policy = ReadinessPolicy(maxTotalLag: 100)

    func status(
        started: Bool = true,
        loaded: Bool = false,
        partitions: [ServeStatus.PartitionState]
    ) -> ServeStatus.Snapshot {
        var s = ServeStatus.Snapshot()
        s.started = started
        s.snapshotLoaded = loaded
        s.partitions = partitions
        s.brokerConnected = true
        return s
    }

    @Test("nothing started: model and partitions fail")
    func notStarted() {
        let r = policy.evaluate(ServeStatus.Snapshot())
        #expect(!r.ready)
        #expect(r.failing == [ReadinessPolicy.CheckName.model, ReadinessPolicy.CheckName.partitions])
    }

    @Test("fresh start, caught up: ready")
    func ready() {
        let r = policy.evaluate(
            status(partitions: [
                .init(topic: "e", partition: 0, position: 50, highWatermark: 120),
                .init(topic: "e", partition: 1, position: 10, highWatermark: 40),
            ])
        )
        #expect(r.ready)
        #expect(r.failing.isEmpty)
        #expect(r.checks.count == 5)
        #expect(r.checks.allSatisfy { $0.ok })
    }

    @Test("lag above threshold fails only the lag check")
    func lagging() {
        let r = policy.evaluate(status(partitions: [.init(topic: "e", partition: 0, position: 0, highWatermark: 101)]))
        #expect(!r.ready)
        #expect(r.failing == [ReadinessPolicy.CheckName.lag])
        #expect(r.checks.last?.detail.contains("101") == true)
    }

    @Test("unknown high watermark is not counted as caught up")
    func unknownWatermark() {
        let r = policy.evaluate(status(partitions: [.init(topic: "e", partition: 0, position: 0)]))
        #expect(r.failing == [ReadinessPolicy.CheckName.lag])
    }

    @Test("fresh starts can be refused; a loaded snapshot passes")
    func snapshotRequired() {
        let strict = ReadinessPolicy(maxTotalLag: 100, allowFreshStart: false)
        let parts: [ServeStatus.PartitionState] = [.init(topic: "e", partition: 0, position: 5, highWatermark: 5)]
        #expect(strict.evaluate(status(partitions: parts)).failing == [ReadinessPolicy.CheckName.model])
        #expect(strict.evaluate(status(loaded: true, partitions: parts)).ready)
    }
}
