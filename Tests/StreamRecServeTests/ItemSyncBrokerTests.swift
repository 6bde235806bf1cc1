import Foundation
import StreamRecCore
import StreamRecKafka
import StreamRecTestSupport
import Testing
@testable import StreamRecServe

/// `sync.enabled` against the real broker: two in-process learners of one group, a 2-partition events
/// topic, item state shared through the model-sync topic.
@Suite("item sync between two serve learners against a real broker", .serialized,
       .enabled(if: ServeBroker.enabled, "set STREAMREC_KAFKA_BROKERS, e.g. 127.0.0.1:9092"))
struct ItemSyncBrokerTests {
    /// Item rows of the two learners agree within this once everything is applied (the same deltas summed
    /// in a different order: float rounding).
    static let tolerance: Float = 1e-3

    struct Run {
        var learners: [OnlineLearner]
        var eventsLearned: [Int64]
        var sync: [SyncStatus?]
        var produced: Int
    }

    /// Both learners join, get one partition each, learn the events; with sync, waits until both read the
    /// whole sync topic and it stopped growing; then both stop (final snapshot) and their models are read.
    func run(sync: Bool, events: [Event]) async throws -> Run {
        let bootstrap = try ServeBroker.bootstrap()
        let n = ServeIntegrationTests.Names()
        let admin = try KafkaAdmin(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
        try admin.createTopics([.init(n.topic, partitions: 2), .init(n.recs, partitions: 1), .init(n.dlq, partitions: 1)])
        var statuses: [ServeStatus] = []
        var services: [StreamingLearnerService] = []
        for i in 0..<2 {
            var c = ServeIntegrationTests().configuration(n, bootstrap: bootstrap, snapshots: try temporaryDirectory())
            c.kafka.instanceID = n.group + "-\(i)"
            c.kafka.topicPartitions = 2
            c.exitWhenIdleMillis = 0
            c.sync.enabled = sync
            c.sync.intervalMillis = 200
            try c.validate()
            let status = ServeStatus()
            statuses.append(status)
            services.append(try StreamingLearnerService(configuration: c, status: status, logger: quietLogger))
        }
        let tasks = services.map { s in Task { try await s.run() } }
        // Produce once both hold a partition, so both learn.
        #expect(await ServeHardeningIntegrationTests.eventually(60) { statuses.allSatisfy { $0.current.partitions.count == 1 } })
        // In three chunks, a few sync intervals apart: batches are applied while the learners keep learning.
        let chunk = (events.count + 2) / 3
        for start in stride(from: 0, to: events.count, by: chunk) {
            let end = min(events.count, start + chunk)
            try produce(Array(events[start..<end]), to: n.topic, bootstrap: bootstrap)
            #expect(await ServeHardeningIntegrationTests.eventually(60) {
                statuses.reduce(0) { $0 + $1.current.eventsLearned } >= Int64(end)
            })
            try await Task.sleep(for: .milliseconds(700))
        }
        if sync {
            let topic = services[0].configuration.sync.resolvedTopic(services[0].configuration.kafka)
            let probe = try KafkaConsumer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
            defer { try? probe.close() }
            var stableSince = Date(), lastHigh: Int64 = -1
            let settled = await ServeHardeningIntegrationTests.eventually(60) {
                guard let high = try? probe.watermarkOffsets(topic: topic, partition: 0).high else { return false }
                if high != lastHigh { lastHigh = high; stableSince = Date() }
                let caughtUp = statuses.allSatisfy { $0.current.sync.map { $0.nextOffset == high && $0.pendingBatches == 0 } ?? false }
                return high > 0 && caughtUp && Date().timeIntervalSince(stableSince) > 2
            }
            #expect(settled, "sync topic did not settle")
        } else {
            try await Task.sleep(for: .seconds(1))
        }
        let learners = services.map { $0.learner.read { $0 } }
        for t in tasks { t.cancel() }
        for t in tasks { try await t.value }
        return Run(learners: learners, eventsLearned: statuses.map { $0.current.eventsLearned },
                   sync: statuses.map { $0.current.sync }, produced: events.count)
    }

    /// Items known to both learners whose factor rows, context rows and bias agree within the tolerance.
    func agreement(_ a: OnlineLearner, _ b: OnlineLearner, items: Set<String>) -> (known: Int, agreeing: Int) {
        var known = 0, agreeing = 0
        for id in items {
            guard let x = a.items.index(of: id), let y = b.items.index(of: id) else { continue }
            known += 1
            let fa = a.model.itemFactors.row(Int(x)), fb = b.model.itemFactors.row(Int(y))
            let ca = a.model.contextFactors.row(Int(x)), cb = b.model.contextFactors.row(Int(y))
            let same = zip(fa, fb).allSatisfy { abs($0 - $1) <= Self.tolerance } && zip(ca, cb).allSatisfy { abs($0 - $1) <= Self.tolerance }
                && abs(a.model.itemBias[Int(x)] - b.model.itemBias[Int(y)]) <= Self.tolerance
                && abs(a.model.itemPopularity[Int(x)] - b.model.itemPopularity[Int(y)]) <= Self.tolerance * max(1, a.model.itemPopularity[Int(x)])
            if same { agreeing += 1 }
        }
        return (known, agreeing)
    }

    @Test("two learners sharing item state end with the same item rows; without sync they differ")
    func twoLearnersConverge() async throws {
        let events = try sampleEvents(900, users: 90, items: 120, seed: 17)
        let items = Set(events.map(\.item))
        let synced = try await run(sync: true, events: events)
        #expect(synced.eventsLearned.reduce(0, +) == Int64(events.count), "every event learned once: \(synced.eventsLearned)")
        #expect(synced.eventsLearned.allSatisfy { $0 > 0 })
        let s = agreement(synced.learners[0], synced.learners[1], items: items)
        #expect(s.known == items.count, "both learners know every item")
        #expect(s.agreeing == items.count, "\(s.agreeing) of \(items.count) item rows agree")
        let stats = synced.sync.compactMap { $0 }
        #expect(stats.count == 2 && stats.allSatisfy { $0.batchesOut > 0 && $0.batchesIn > 0 && $0.rejected == 0 })
        let bytes = stats.reduce(0) { $0 + $1.bytesOut }, covered = stats.reduce(0) { $0 + $1.eventsOut }
        #expect(covered == Int64(events.count), "published batches cover every learned event once")
        print("item sync: \(bytes) bytes in \(stats.reduce(0) { $0 + $1.batchesOut }) batches for \(covered) events = "
              + String(format: "%.0f", Double(bytes) / Double(max(covered, 1))) + " sync bytes/event")

        let alone = try await run(sync: false, events: events)
        #expect(alone.eventsLearned.reduce(0, +) == Int64(events.count))
        #expect(alone.sync.allSatisfy { $0 == nil })
        let a = agreement(alone.learners[0], alone.learners[1], items: items)
        #expect(a.agreeing * 10 < items.count, "without sync only \(a.agreeing) of \(a.known) shared items should agree")
    }
}
