import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

@Suite("Item-neighbour blend, .inter logs and rating weights")
struct NeighborBlendTests {
    @Test("the co-occurrence table keeps at most `width` neighbours, those weighing most in cosine scores")
    func boundedNeighbours() {
        var t = ItemNeighbors(width: 2)
        for _ in 0..<6 { t.appendItem() }
        for i in 0..<6 { for _ in 0...i { t.countOccurrence(Int32(i)) } }  // n_i = i + 1
        t.add(0, 1, 5)
        t.add(0, 2, 3)
        t.add(0, 3, 1)  // full; 1²/n₃ = 0.25 < 3²/n₂ = 3, the weakest entry: rejected
        #expect(t.similarity(0, 3) == 0 && t.similarity(0, 2) > 0)
        t.add(0, 3, 4)  // 4²/4 = 4 ≥ 3: replaces item 2
        t.add(0, 1, 1)
        var listed: [Int32: Float] = [:]
        t.forEachNeighbor(of: 0) { listed[$0] = $1 }
        #expect(Set(listed.keys) == [1, 3])
        #expect(listed[1] == 6 / (1 * 2 as Float).squareRoot())
        #expect(listed[3] == 4 / (1 * 4 as Float).squareRoot())
        #expect(t.neighbor(of: 0, entry: 0) == 1 && t.neighbor(of: 0, entry: 5) == nil)
        #expect(t.similarity(0, 2) == 0)
        t.add(4, 4, 1)  // self-pairs are ignored
        #expect(t.similarity(4, 4) == 0)
        // A reused slot: its old pairs vanish from every list, and its own list is empty.
        t.reset(item: 3)
        #expect(t.similarity(0, 3) == 0)
        t.forEachNeighbor(of: 3) { _, _ in Issue.record("reset item still lists neighbours") }
        t.add(0, 5, 1)  // the stale entry's place is free again
        #expect(t.similarity(0, 5) > 0 && t.similarity(0, 1) > 0)
        #expect(t.allocatedBytes >= 6 * 2 * 12)
    }

    /// Users walk a fixed item chain (each user starts somewhere and moves on by one), so the previous
    /// item predicts the next one: the co-occurrence scorer should carry the ranking.
    static func chainLog(users: Int = 120, items: Int = 60, length: Int = 12) -> [Event] {
        var rng = RandomSource(seed: 5)
        var events: [Event] = []
        var t: Int64 = 0
        var position = (0..<users).map { _ in rng.nextInt(below: items) }
        for _ in 0..<length {
            for u in 0..<users {
                events.append(Event(user: "u\(u)", item: "i\(position[u])", timestamp: t))
                position[u] = (position[u] + 1) % items
                t += 1
            }
        }
        return events
    }

    @Test("on a sequential log the blend beats plain MF and learns a positive neighbour weight")
    func blendHelpsOnSequences() throws {
        let events = Self.chainLog()
        var options = ReplayOptions()
        options.warmupFraction = 0.2
        options.measureDiversity = false
        var plain = ModelConfig()
        plain.factors = 8
        plain.neighborWidth = 0
        var blended = plain
        blended.neighborWidth = 16
        var a = try ReplaySession(config: plain, options: options)
        var b = try ReplaySession(config: blended, options: options)
        let ra = try a.run(events: events)
        let rb = try b.run(events: events)
        #expect(rb.recall > ra.recall + 0.2, "blend \(rb.recall) vs plain \(ra.recall)")
        #expect(b.learner.model.neighborBlend > 0)
        #expect(a.learner.model.neighbors.allocatedBytes == 0)
    }

    @Test("a learner with the blend resumes bit-identically from its snapshot")
    func snapshotResume() throws {
        let events = try ReplayTests.plantedLog(events: 2000)
        var config = ModelConfig()
        config.factors = 8
        var full = try OnlineLearner(config: config)
        for e in events { _ = try? full.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1) }
        var first = try OnlineLearner(config: config)
        for e in events.prefix(1100) {
            _ = try? first.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1)
        }
        let bytes = SnapshotCodec.encode(
            LearnerSnapshot(learner: first, position: SourcePosition(eventsConsumed: 1100), createdAt: 0)
        )
        var resumed = try SnapshotCodec.decode(bytes, expectedConfig: config).learner
        #expect(resumed == first)
        for e in events.dropFirst(1100) {
            _ = try? resumed.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1)
        }
        #expect(resumed == full)
        #expect(full.model.neighbors.rows == full.items.slotCount)
        #expect(full.model.neighborBlend != 1 || full.model.popularityBlend != 0)  // the weights moved
        #expect(resumed.recommend(user: "1", k: 10).map(\.item) == full.recommend(user: "1", k: 10).map(\.item))
    }

    @Test("config: blend fields validate, default on, and are in the fingerprint")
    func configFields() throws {
        let d = ModelConfig()
        #expect(d.neighborWidth > 0 && d.blendLearningRate > 0)
        for key in ["neighborWidth", "neighborHistory", "neighborContext", "neighborDecay", "blendLearningRate"] {
            #expect(d.canonicalJSON.contains("\"\(key)\""))
        }
        var c = d
        c.neighborHistory = c.historyLength
        #expect(throws: ConfigError.self) { try c.validate() }
        c = d
        c.neighborDecay = 0
        #expect(throws: ConfigError.self) { try c.validate() }
        c = d
        c.neighborWidth = 8
        #expect(c.fingerprint != d.fingerprint)
    }

    @Test("a RecBole .inter file is read by its header, seconds with a .0 included")
    func readsAtomicInter() throws {
        let dir = try temporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ml.inter").path
        let text = """
            user_id:token\titem_id:token\trating:float\ttimestamp:float
            196\t242\t3\t881250949
            186\t302\t4.5\t891717742.0
            22\t377\tx\t878887116
            244\t51\t2\t880606923

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try EventLogReader(path: path).format == .tsv)
        let (events, stats) = try EventLogReader.readAll(path: path)
        #expect(
            events == [
                Event(user: "196", item: "242", timestamp: 881_250_949_000, type: "rating", weight: 3),
                Event(user: "186", item: "302", timestamp: 891_717_742_000, type: "rating", weight: 4.5),
                Event(user: "244", item: "51", timestamp: 880_606_923_000, type: "rating", weight: 2),
            ]
        )
        #expect(stats.headers == 1 && stats.malformed == 1 && stats.malformedExamples.first?.line == 4)
        // Another column order, no rating column.
        let other = dir.appendingPathComponent("other.inter").path
        try Data("timestamp:float\titem_id:token\tuser_id:token\n5\ti\tu\n".utf8).write(to: URL(fileURLWithPath: other))
        #expect(try EventLogReader.readAll(path: other).events == [Event(user: "u", item: "i", timestamp: 5000)])
        // A plain u.data first line is data, not a header.
        let plain = dir.appendingPathComponent("u.data").path
        try Data("1\t2\t3\t4\n".utf8).write(to: URL(fileURLWithPath: plain))
        #expect(try EventLogReader.readAll(path: plain).stats.headers == 0)
    }
}
