import Foundation
import Testing

@testable import StreamRecCore

@Suite("Snapshots")
struct SnapshotTests {
    func learner(events: Int, seed: UInt64 = 1) throws -> OnlineLearner {
        var c = ModelConfig()
        c.factors = 6
        c.maxUsers = 40  // force evictions so recency lists and reused slots are exercised
        c.negativeSampling = .popularity
        c.popularityWindow = 100
        var l = try OnlineLearner(config: c)
        var rng = RandomSource(seed: seed)
        for t in 0..<events {
            try l.learn(
                user: "u\(rng.nextInt(below: 60))",
                item: "i\(rng.nextInt(below: 90))",
                timestamp: Int64(t),
                weight: 1
            )
        }
        return l
    }

    func tempDir() -> String {
        let d = NSTemporaryDirectory() + "streamrec-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test("round trip is bit-identical")
    func roundTrip() throws {
        let l = try learner(events: 1500)
        let pos = SourcePosition(
            eventsConsumed: 1500,
            offsets: [
                .init(topic: "ev", partition: 1, offset: 9),
                .init(topic: "ev", partition: 0, offset: 7),
            ]
        )
        let snap = LearnerSnapshot(
            learner: l,
            position: pos,
            createdAt: 123,
            extensions: ["replay.metrics": [1, 2, 3], "a": []]
        )
        let bytes = SnapshotCodec.encode(snap)
        let back = try SnapshotCodec.decode(bytes)
        #expect(back == snap)
        #expect(SnapshotCodec.encode(back) == bytes)
        var beyond = try OnlineLearner(config: Self.beyondConfig())
        for t in 0..<600 { try beyond.learn(user: "u\(t % 17)", item: "i\(t % 23)", timestamp: Int64(t), weight: 1) }
        let beyondSnap = LearnerSnapshot(learner: beyond, position: pos, createdAt: 1)
        let beyondBytes = SnapshotCodec.encode(beyondSnap)
        #expect(try SnapshotCodec.decode(beyondBytes) == beyondSnap)
        #expect(back.position.offset(topic: "ev", partition: 0) == 7)
    }

    /// Every beyond-MF feature on, so their state (context vectors, clocks, decayed popularity, TTL-freed
    /// slots, catalog-initialized items) goes through the snapshot.
    static func beyondConfig() -> ModelConfig {
        var c = ModelConfig()
        c.factors = 6
        c.sequenceContext = 3
        c.popularityHalfLife = 300
        c.factorDecayHalfLife = 200
        c.userTTL = 80
        c.itemTTL = 200
        c.explorationEpsilon = 0.2
        c.uncertaintyBonus = 0.5
        c.diversityLambda = 0.7
        c.diversityCandidates = 20
        c.coldStartUserEvents = 3
        c.coldStartNeighbors = 2
        c.negativeSampling = .popularity
        c.popularityWindow = 200
        return c
    }

    @Test("resuming from a snapshot continues bit-identically", arguments: [false, true])
    func resumeIdentical(beyond: Bool) throws {
        var c = ModelConfig()
        c.factors = 6
        if beyond { c = Self.beyondConfig() }
        let catalog =
            beyond
            ? ItemCatalog(entries: (0..<70).map { ("i\($0)", ["g\($0 % 5)", "w\($0 % 7)"]) }) : nil
        var events: [(String, String)] = []
        var rng = RandomSource(seed: 4)
        for _ in 0..<2000 { events.append(("u\(rng.nextInt(below: 30))", "i\(rng.nextInt(below: 70))")) }
        var full = try OnlineLearner(config: c)
        full.attach(catalog: catalog)
        for (t, e) in events.enumerated() { try full.learn(user: e.0, item: e.1, timestamp: Int64(t), weight: 1) }
        var first = try OnlineLearner(config: c)
        first.attach(catalog: catalog)
        for (t, e) in events.prefix(777).enumerated() {
            try first.learn(user: e.0, item: e.1, timestamp: Int64(t), weight: 1)
        }
        let bytes = SnapshotCodec.encode(
            LearnerSnapshot(learner: first, position: .init(eventsConsumed: 777), createdAt: 0)
        )
        var resumed = try SnapshotCodec.decode(bytes, expectedConfig: c).learner
        resumed.attach(catalog: catalog)
        #expect(resumed == first)
        for (t, e) in events.enumerated().dropFirst(777) {
            try resumed.learn(user: e.0, item: e.1, timestamp: Int64(t), weight: 1)
        }
        #expect(resumed == full)
        if beyond {
            // The features really ran: state the plain model doesn't have is populated.
            #expect(full.model.contextFactors.rows == full.model.itemCount)
            #expect(full.model.contextFactors.unpaddedValues().contains { $0 != 0 })
            #expect(full.counters.userExpirations > 0 && full.counters.itemExpirations > 0)
            #expect(full.counters.catalogInitializedItems > 0)
            // Ranking (with exploration) is a pure function of the state: identical lists.
            for u in ["u1", "u7", "u20", "nobody"] {
                #expect(resumed.recommend(user: u, k: 10).map(\.item) == full.recommend(user: u, k: 10).map(\.item))
            }
        }
    }

    @Test("truncated and corrupted snapshots are rejected with clear errors")
    func corruption() throws {
        let bytes = SnapshotCodec.encode(
            LearnerSnapshot(learner: try learner(events: 300), position: .init(), createdAt: 0)
        )
        for cut in [0, 5, 20, bytes.count / 2, bytes.count - 1] {
            #expect(throws: SnapshotError.self) { try SnapshotCodec.decode(Array(bytes.prefix(cut))) }
        }
        var rng = RandomSource(seed: 8)
        for _ in 0..<20 {
            var flipped = bytes
            let at = 8 + rng.nextInt(below: bytes.count - 8)
            flipped[at] ^= UInt8(1 << rng.nextInt(below: 8))
            #expect(throws: SnapshotError.self) { try SnapshotCodec.decode(flipped) }
        }
        var bad = bytes
        bad[bytes.count / 2] ^= 0xFF
        do {
            _ = try SnapshotCodec.decode(bad)
            Issue.record("corrupted snapshot decoded")
        } catch {
            guard case .checksumMismatch = error.kind else {
                Issue.record("wrong kind \(error)")
                return
            }
            #expect(error.description.contains("checksum mismatch"))
        }
        #expect(throws: SnapshotError(.notASnapshot)) {
            try SnapshotCodec.decode(Array("hello world, not a snapshot".utf8))
        }
    }

    @Test("config mismatch is refused")
    func configMismatch() throws {
        let l = try learner(events: 50)
        let bytes = SnapshotCodec.encode(LearnerSnapshot(learner: l, position: .init(), createdAt: 0))
        var other = l.config
        other.learningRate = 0.2
        #expect(throws: SnapshotError.self) { try SnapshotCodec.decode(bytes, expectedConfig: other) }
    }

    @Test("store keeps the newest N and falls back past a corrupt newest file")
    func storeFallback() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SnapshotStore(directory: dir, retain: 2)
        #expect(try store.loadNewestGood() == nil)
        let l = try learner(events: 200)
        for n in 1...3 {
            try store.write(LearnerSnapshot(learner: l, position: .init(eventsConsumed: Int64(n)), createdAt: 0))
        }
        let files = store.list()
        #expect(files.map(\.sequence) == [3, 2])
        // Corrupt the newest: the store must fall back to snapshot 2 and say why.
        var bytes = try SnapshotStore.readFile(files[0].path)
        bytes[bytes.count / 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: files[0].path))
        let loaded = try #require(try store.loadNewestGood())
        #expect(loaded.snapshot.position.eventsConsumed == 2)
        #expect(loaded.rejected.count == 1 && loaded.rejected[0].path == files[0].path)
        // Truncate the other one too: nothing valid left is an error, not a silent fresh start.
        try Data(bytes.prefix(100)).write(to: URL(fileURLWithPath: files[1].path))
        #expect(throws: SnapshotError.self) { try store.loadNewestGood() }
    }
}
