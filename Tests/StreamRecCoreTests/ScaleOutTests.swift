import Foundation
import Testing

@testable import StreamRecCore

@Suite("Scale-out: partitioner, item-state sync, simulated learners")
struct ScaleOutTests {
    func config() -> ModelConfig {
        var c = ModelConfig()
        c.factors = 8
        return c
    }

    func log(events: Int = 1500) throws -> [Event] { try ReplayTests.plantedLog(events: events, seed: 5) }

    @Test("partitioners match the published hash vectors (zlib CRC-32, Kafka's Java murmur2)")
    func partitionerVectors() {
        #expect(KafkaPartitioner.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(KafkaPartitioner.crc32([UInt8]()) == 0)
        // org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed Java ints).
        let java: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
        ]
        for (key, expected) in java {
            #expect(Int32(bitPattern: KafkaPartitioner.murmur2(Array(key.utf8))) == expected, "\(key)")
        }
        #expect(KafkaPartitioner.crc32.partition(key: "", partitions: 4) == nil)
        #expect(
            KafkaPartitioner.murmur2.partition(key: "foobar", partitions: 7)
                == Int((UInt32(bitPattern: -790_332_482) & 0x7fff_ffff) % 7)
        )
    }

    @Test("range assignment gives every partition to exactly one learner, contiguous and balanced")
    func rangeAssignment() {
        var o = ScaleOutOptions()
        o.learners = 3
        o.partitions = 8
        #expect((0..<8).map(o.learner(ofPartition:)) == [0, 0, 0, 1, 1, 1, 2, 2])
        o.partitions = nil
        #expect((0..<3).map(o.learner(ofPartition:)) == [0, 1, 2])
    }

    func sampleBatch() -> ItemDeltaBatch {
        var b = ItemDeltaBatch(publisher: 3, sequence: 17, dimension: 2, hasContext: true)
        b.events = 42
        b.neighborBlendDelta = 0.25
        b.popularityBlendDelta = -0.5
        b.ids = ["a", "é-item", "c"]
        b.factorDeltas = [1, 2, 3, 4, 5, 6]
        b.contextDeltas = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
        b.biasDeltas = [0.5, 0, -0.5]
        b.popularityDeltas = [1, 2, 3]
        b.lastSeen = [10, 20, -30]
        b.newRows = [1]
        b.baseFactors = [7, 8]
        b.baseContext = [0.7, 0.8]
        b.baseBias = [0.9]
        return b
    }

    @Test("the delta-batch codec round-trips and rejects corrupt or truncated bytes")
    func codecRoundTrip() throws {
        let b = sampleBatch()
        let bytes = ItemDeltaCodec.encode(b)
        #expect(try ItemDeltaCodec.decode(bytes) == b)
        var flipped = bytes
        flipped[20] ^= 0x40
        #expect(throws: ItemDeltaCodec.DecodingError.self) { try ItemDeltaCodec.decode(flipped) }
        #expect(throws: ItemDeltaCodec.DecodingError.self) { try ItemDeltaCodec.decode(Array(bytes.dropLast(5))) }
        var empty = ItemDeltaBatch(publisher: 0, sequence: 1, dimension: 32, hasContext: false)
        empty.events = 3
        #expect(try ItemDeltaCodec.decode(ItemDeltaCodec.encode(empty)) == empty)
    }

    /// Two learners trained on disjoint halves of a log, then one sync round.
    func twoLearnersSynced(_ events: [Event], merge: ItemMergeRule = .sum) throws -> [OnlineLearner] {
        var a = try OnlineLearner(config: config())
        var c2 = config()
        c2.seed = 99
        var b = try OnlineLearner(config: c2)
        for (n, e) in events.enumerated() {
            if n % 2 == 0 {
                try a.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1)
            } else {
                try b.learn(user: "b" + e.user, item: e.item, timestamp: e.timestamp, weight: 1)
            }
        }
        var ra = ItemSyncReplica(publisher: 0, merge: merge)
        var rb = ItemSyncReplica(publisher: 1, merge: merge)
        let batches = [ra.collect(from: a), rb.collect(from: b)]
        ra.apply(batches, to: &a)
        rb.apply(batches, to: &b)
        return [a, b]
    }

    func itemRow(
        _ l: OnlineLearner,
        _ id: String
    ) -> (factors: [Float], context: [Float], bias: Float, popularity: Float)? {
        guard let s = l.items.index(of: id) else { return nil }
        return (
            l.model.itemFactors.row(Int(s)), l.model.contextFactors.row(Int(s)), l.model.itemBias[Int(s)],
            l.model.itemPopularity[Int(s)]
        )
    }

    @Test(
        "after a sync round both learners hold identical item rows, popularity summed, and the round is deterministic"
    )
    func mergeAgreesAndIsDeterministic() throws {
        let events = try log(events: 600)
        let first = try twoLearnersSynced(events)
        let second = try twoLearnersSynced(events)
        #expect(first == second)
        let ids = Set(events.map(\.item))
        #expect(first[0].items.count == ids.count && first[1].items.count == ids.count)
        for id in ids {
            let x = try #require(itemRow(first[0], id))
            let y = try #require(itemRow(first[1], id))
            #expect(x.factors == y.factors && x.context == y.context && x.bias == y.bias, "\(id)")
            #expect(x.popularity == y.popularity)
            #expect(
                x.popularity == Float(events.filter { $0.item == id }.count),
                "\(id): counts add up across learners"
            )
        }
        #expect(first[0].model.neighborBlend == first[1].model.neighborBlend)
        // A second round with more learning keeps them in step; with nothing learned it publishes nothing.
        var a = first[0]
        var ra = ItemSyncReplica(publisher: 0)
        _ = ra.collect(from: a)
        ra.apply([ra.collect(from: a)], to: &a)
        #expect(ra.collect(from: a).count == 0)
    }

    @Test("sum adds a learner's delta in full; mean halves deltas two learners both made")
    func sumVersusMean() throws {
        // Both learners start from the shared base, then each moves item "x" once.
        let base = try twoLearnersSynced(try log(events: 200))
        func step(_ merge: ItemMergeRule) throws -> (sum: [Float], a: [Float], b: [Float], base: [Float]) {
            var (a, b) = (base[0], base[1])
            var ra = ItemSyncReplica(publisher: 0, merge: merge)
            var rb = ItemSyncReplica(publisher: 1, merge: merge)
            let zero = [ra.collect(from: a), rb.collect(from: b)]  // establishes both replicas' bases
            ra.apply(zero, to: &a)
            rb.apply(zero, to: &b)
            let id = try #require(base[0].items.id(at: 0))
            let before = try #require(itemRow(a, id)).factors
            try a.learn(user: "new-a", item: id, timestamp: 10_000_000_000_000, weight: 1)
            try b.learn(user: "new-b", item: id, timestamp: 10_000_000_000_000, weight: 1)
            let da = zip(try #require(itemRow(a, id)).factors, before).map { $0 - $1 }
            let db = zip(try #require(itemRow(b, id)).factors, before).map { $0 - $1 }
            let batches = [ra.collect(from: a), rb.collect(from: b)]
            ra.apply(batches, to: &a)
            rb.apply(batches, to: &b)
            #expect(try #require(itemRow(a, id)).factors == (try #require(itemRow(b, id)).factors))
            return (try #require(itemRow(a, id)).factors, da, db, before)
        }
        let s = try step(.sum)
        for c in s.sum.indices { #expect(abs(s.sum[c] - (s.base[c] + s.a[c] + s.b[c])) < 1e-5) }
        let m = try step(.mean)
        for c in m.sum.indices { #expect(abs(m.sum[c] - (m.base[c] + (m.a[c] + m.b[c]) / 2)) < 1e-5) }
    }

    func stripTiming(_ r: ReplayReport) -> ReplayReport {
        var r = r
        r.seconds = 0
        r.eventsPerSecond = 0
        return r
    }

    @Test("--learners 1 gives exactly the plain replay's report and model")
    func oneLearnerEqualsReplay() throws {
        let events = try log()
        var options = ReplayOptions()
        options.windowSize = 500
        options.aucSamples = 20
        var plain = try ReplaySession(config: config(), options: options)
        let expected = try plain.run(events: events)
        var scale = ScaleOutOptions()
        scale.learners = 1
        scale.syncInterval = 30_000
        var sim = try ScaleOutReplay(config: config(), options: options, scaleOut: scale)
        let got = sim.run(events: events)
        #expect(stripTiming(got.report) == stripTiming(expected))
        #expect(sim.learners[0] == plain.learner)
        #expect(got.summary.syncRounds == 0 && got.summary.syncBytes == 0)
    }

    @Test("a 2-learner simulation is deterministic, shares item state, and never shares when D = 0")
    func twoLearnersDeterministic() throws {
        let events = try log()
        var options = ReplayOptions()
        options.aucSamples = 0
        var scale = ScaleOutOptions()
        scale.learners = 2
        scale.partitions = 4
        scale.partitioner = .murmur2
        scale.syncInterval = 30_000
        var first = try ScaleOutReplay(config: config(), options: options, scaleOut: scale)
        var second = try ScaleOutReplay(config: config(), options: options, scaleOut: scale)
        let r1 = first.run(events: events)
        let r2 = second.run(events: events)
        #expect(stripTiming(r1.report) == stripTiming(r2.report))
        #expect(r1.summary == r2.summary)
        #expect(first.learners == second.learners)
        #expect(r1.summary.syncRounds > 10 && r1.summary.syncBytes > 0)
        #expect(r1.summary.eventsPerLearner.reduce(0, +) == Int64(events.count))
        #expect(r1.summary.eventsPerLearner.allSatisfy { $0 > 0 })
        // Every user is handled by one learner only.
        #expect(first.learners[0].users.count + first.learners[1].users.count == Set(events.map(\.user)).count)
        // Shared: after a last round both learners know every item.
        first.syncRound()
        let allItems = Set(events.map(\.item)).count
        #expect(first.learners.allSatisfy { $0.items.count == allItems })
        scale.syncInterval = 0
        var isolated = try ScaleOutReplay(config: config(), options: options, scaleOut: scale)
        let r0 = isolated.run(events: events)
        #expect(r0.summary.syncRounds == 0 && r0.summary.syncBytes == 0)
        #expect(r0.report.recall != r1.report.recall)
    }

    @Test("with neighbour sharing, every learner's co-occurrence counts cover all learners' events after a round")
    func neighbourSharing() throws {
        let events = try log(events: 1000)
        var options = ReplayOptions()
        options.aucSamples = 0
        var scale = ScaleOutOptions()
        scale.learners = 2
        scale.syncInterval = 30_000
        scale.shareNeighbors = true
        var sim = try ScaleOutReplay(config: config(), options: options, scaleOut: scale)
        let result = sim.run(events: events)
        sim.syncRound()  // flush the tail
        let (a, b) = (sim.learners[0], sim.learners[1])
        var checked = 0
        for id in Set(events.map(\.item)) {
            let sa = try #require(a.items.index(of: id))
            let sb = try #require(b.items.index(of: id))
            #expect(a.model.neighbors.occurrences[Int(sa)] == b.model.neighbors.occurrences[Int(sb)], "\(id)")
            checked += 1
        }
        #expect(checked > 100)
        let total = a.model.neighbors.occurrences.reduce(0, +)
        let learned = events.filter { options.weights.effectiveWeight($0) > 0 }.count
        #expect(total == Float(learned), "every learned event counted once at each learner")
        var plain = scale
        plain.shareNeighbors = false
        var local = try ScaleOutReplay(config: config(), options: options, scaleOut: plain)
        let localResult = local.run(events: events)
        #expect(result.summary.syncBytes > localResult.summary.syncBytes)
    }
}
