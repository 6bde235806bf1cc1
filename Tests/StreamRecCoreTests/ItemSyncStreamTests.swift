import Testing

@testable import StreamRecCore

/// Asynchronous item-state sharing through one ordered log (what serve's model-sync topic carries).
@Suite("Item sync stream: asynchronous sum rule, exactly once")
struct ItemSyncStreamTests {
    /// Factor rows agree within this after everyone applied everything: the same deltas summed in a
    /// different order (float rounding), over a few hundred steps per row.
    static let tolerance: Float = 1e-4

    /// One learner process: its model, its stream state and how far it has read the shared log.
    struct Node {
        let id: String
        var learner: OnlineLearner
        var stream = ItemSyncStream()
        var cursor = 0
        /// Split batches into records of at most this many bytes (nil: one record per batch).
        var maxRecordBytes: Int?

        init(id: String, seed: UInt64) throws {
            self.id = id
            var c = ModelConfig()
            c.factors = 8
            c.seed = seed
            learner = try OnlineLearner(config: c)
        }

        mutating func learn(_ e: Event) throws {
            let interaction = try learner.learn(user: id + e.user, item: e.item, timestamp: e.timestamp, weight: 1)
            stream.noteEvent()
            stream.noteLearned(interaction, weight: 1, sharePairs: true, learner: learner)
        }

        /// Collect and append to the log (what a durable snapshot + produce does). Returns whether it published.
        @discardableResult
        mutating func publish(to log: inout [(key: String, value: [UInt8])]) -> Bool {
            if let maxRecordBytes {
                let pieces = stream.collect(from: learner, maxRecordBytes: maxRecordBytes)
                for batch in stream.pending.suffix(pieces) {
                    let bytes = ItemDeltaCodec.encode(batch)
                    #expect(
                        bytes.count <= maxRecordBytes || batch.count + batch.pairOps.count <= 1,
                        "piece over the cap"
                    )
                    log.append((id, bytes))
                }
                return pieces > 0
            }
            guard let batch = stream.collect(from: learner) else { return false }
            log.append((id, ItemDeltaCodec.encode(batch)))
            return true
        }

        /// Applies every log record from the cursor on; returns how many were applied (not duplicates).
        @discardableResult
        mutating func read(_ log: [(key: String, value: [UInt8])]) throws -> Int {
            var applied = 0
            while cursor < log.count {
                let record = log[cursor]
                let batch = try ItemDeltaCodec.decode(record.value)
                if try stream.apply(batch, publisherID: record.key, own: record.key == id, to: &learner) {
                    applied += 1
                }
                cursor += 1
                stream.readPosition = Int64(cursor)
            }
            return applied
        }
    }

    func log(_ n: Int = 1800) throws -> [Event] { try ReplayTests.plantedLog(events: n, seed: 11) }

    /// Publishes and reads until nobody has anything left to publish (held-back new items need a second round).
    func settle(_ nodes: inout [Node], _ shared: inout [(key: String, value: [UInt8])]) throws {
        for _ in 0..<4 {
            var published = false
            for i in nodes.indices { if nodes[i].publish(to: &shared) { published = true } }
            for i in nodes.indices { try nodes[i].read(shared) }
            if !published { return }
        }
        Issue.record("sync did not settle")
    }

    func row(_ l: OnlineLearner, _ id: String) -> (factors: [Float], context: [Float], bias: Float, popularity: Float)?
    {
        guard let s = l.items.index(of: id) else { return nil }
        return (
            l.model.itemFactors.row(Int(s)), l.model.contextFactors.row(Int(s)), l.model.itemBias[Int(s)],
            l.model.itemPopularity[Int(s)]
        )
    }

    /// Every node knows every item, rows agree within the tolerance, popularity is the exact event count.
    func expectConverged(_ nodes: [Node], events: [Event]) throws {
        var counts: [String: Int] = [:]
        for e in events { counts[e.item, default: 0] += 1 }
        for (item, count) in counts {
            let first = try #require(row(nodes[0].learner, item), "\(item) unknown at \(nodes[0].id)")
            #expect(first.popularity == Float(count), "\(item): popularity counts every event once")
            for node in nodes.dropFirst() {
                let other = try #require(row(node.learner, item), "\(item) unknown at \(node.id)")
                for c in first.factors.indices {
                    #expect(abs(first.factors[c] - other.factors[c]) <= Self.tolerance, "\(item) factor \(c)")
                }
                for c in first.context.indices {
                    #expect(abs(first.context[c] - other.context[c]) <= Self.tolerance, "\(item) context \(c)")
                }
                #expect(abs(first.bias - other.bias) <= Self.tolerance, "\(item) bias")
                #expect(first.popularity == other.popularity, "\(item) popularity")
            }
        }
        for node in nodes.dropFirst() {
            #expect(abs(node.learner.model.neighborBlend - nodes[0].learner.model.neighborBlend) <= Self.tolerance)
            #expect(abs(node.learner.model.popularityBlend - nodes[0].learner.model.popularityBlend) <= Self.tolerance)
        }
    }

    @Test("three learners publishing and reading at different moments converge to the same item rows")
    func threeLearnersConverge() throws {
        let events = try log()
        var nodes = [try Node(id: "a", seed: 1), try Node(id: "b", seed: 2), try Node(id: "c", seed: 3)]
        var shared: [(key: String, value: [UInt8])] = []
        let publishEvery = [37, 53, 71]
        let readEvery = [29, 41, 61]
        var learned = [0, 0, 0]
        for (n, e) in events.enumerated() {
            let i = n % 3
            try nodes[i].learn(e)
            learned[i] += 1
            if learned[i] % publishEvery[i] == 0 { nodes[i].publish(to: &shared) }
            if learned[i] % readEvery[i] == 0 { try nodes[i].read(shared) }
        }
        // Learning went on between publishing and reading: rows differed before the last exchange.
        let differing = Set(events.map(\.item)).filter { item in
            guard let x = row(nodes[0].learner, item), let y = row(nodes[2].learner, item) else { return true }
            return zip(x.factors, y.factors).contains { abs($0 - $1) > Self.tolerance }
        }
        #expect(differing.count > 10)
        try settle(&nodes, &shared)
        try expectConverged(nodes, events: events)
        #expect(shared.count > 40)
        // Nothing left to publish once settled.
        for i in nodes.indices { #expect(nodes[i].stream.collect(from: nodes[i].learner) == nil) }
    }

    @Test("batches split into records under a byte cap (a broker's message limit) converge the same way")
    func splitBatchesConverge() throws {
        let events = try log(900)
        var nodes = [try Node(id: "a", seed: 1), try Node(id: "b", seed: 2)]
        for i in nodes.indices { nodes[i].maxRecordBytes = 2_000 }
        var shared: [(key: String, value: [UInt8])] = []
        for (n, e) in events.enumerated() {
            try nodes[n % 2].learn(e)
            if n % 97 == 0 { nodes[n % 2].publish(to: &shared) }
            if n % 53 == 0 { try nodes[(n + 1) % 2].read(shared) }
        }
        try settle(&nodes, &shared)
        try expectConverged(nodes, events: events)
        // The first publication of ~100 new items at k=8 with context is ~15 KB: many records.
        #expect(shared.count > 20)
        // Splitting keeps every row, new-row base and pair op (pieces decode and re-join to the whole).
        var copy = try Node(id: "c", seed: 3)
        for e in events.prefix(300) { try copy.learn(e) }
        let collected = copy.stream.collect(from: copy.learner)
        let batch = try #require(collected)
        let pieces = batch.split(maxEncodedBytes: 1_500)
        #expect(pieces.count > 3)
        #expect(pieces.flatMap(\.ids) == batch.ids)
        #expect(pieces.flatMap(\.factorDeltas) == batch.factorDeltas)
        #expect(pieces.flatMap(\.baseFactors) == batch.baseFactors)
        #expect(pieces.map(\.newRows.count).reduce(0, +) == batch.newRows.count)
        #expect(pieces.map(\.events).reduce(0, +) == batch.events)
        // Pair ops as ids ([item, n, previous…] with indices resolved) are the same sequence.
        func opIds(_ b: ItemDeltaBatch) -> [String] {
            var out: [String] = []
            var o = 0
            while o + 1 < b.pairOps.count {
                let n = Int(b.pairOps[o + 1])
                out.append(b.pairIds[Int(b.pairOps[o])])
                out.append("#\(n)")
                for g in b.pairOps[(o + 2)..<(o + 2 + n)] { out.append(b.pairIds[Int(g)]) }
                o += 2 + n
            }
            return out
        }
        #expect(!batch.pairOps.isEmpty)
        #expect(pieces.flatMap(opIds) == opIds(batch))
        for p in pieces { #expect(try ItemDeltaCodec.decode(ItemDeltaCodec.encode(p)) == p) }
    }

    @Test("a re-sent batch is applied once; a foreign item's first new record fixes its base everywhere")
    func duplicatesAndNewItems() throws {
        var a = try Node(id: "a", seed: 1)
        var b = try Node(id: "b", seed: 2)
        // Both create item "x" independently; a's record comes first in the log.
        try a.learn(Event(user: "u", item: "x", timestamp: 1000))
        try b.learn(Event(user: "v", item: "x", timestamp: 1000))
        var shared: [(key: String, value: [UInt8])] = []
        a.publish(to: &shared)
        b.publish(to: &shared)
        // b learns more on x before reading: its own steps survive the rebase onto a's base.
        try b.learn(Event(user: "w", item: "x", timestamp: 2000))
        shared.append(shared[0])  // a's batch re-sent (crash before the ack was recorded)
        #expect(try b.read(shared) == 2)  // a's batch and b's own; the copy is a duplicate
        #expect(try a.read(shared) == 2)
        let before = try #require(row(b.learner, "x"))
        #expect(
            try b.stream.apply(try ItemDeltaCodec.decode(shared[0].value), publisherID: "a", own: false, to: &b.learner)
                == false
        )
        #expect(try #require(row(b.learner, "x")).factors == before.factors)
        var nodes = [a, b]
        try settle(&nodes, &shared)
        try expectConverged(
            nodes,
            events: [
                Event(user: "u", item: "x", timestamp: 1000), Event(user: "v", item: "x", timestamp: 1000),
                Event(user: "w", item: "x", timestamp: 2000),
            ]
        )
    }

    @Test("the stream state round-trips and rejects corrupt bytes")
    func stateRoundTrip() throws {
        var a = try Node(id: "a", seed: 1)
        for e in try log(200) { try a.learn(e) }
        var shared: [(key: String, value: [UInt8])] = [
            ("b", ItemDeltaCodec.encode(ItemDeltaBatch(publisher: 0, sequence: 7, dimension: 8, hasContext: true)))
        ]
        try a.read(shared)
        a.publish(to: &shared)
        let bytes = a.stream.encodeState(learner: a.learner)
        var restored = try ItemSyncStream(decoding: bytes)
        #expect(restored.sequence == 1 && restored.lastApplied == ["b": 7] && restored.readPosition == 1)
        #expect(restored.pending == a.stream.pending && restored.pending.count == 1)
        #expect(restored.restoredAwaiting.count == a.learner.items.count)  // all published as new, none read back yet
        restored.rebase(on: a.learner)
        #expect(restored.encodeState(learner: a.learner) == bytes)
        var flipped = bytes
        flipped[9] ^= 1
        #expect(throws: ItemSyncStream.StateError.self) { try ItemSyncStream(decoding: flipped) }
        #expect(throws: ItemSyncStream.StateError.self) { try ItemSyncStream(decoding: Array(bytes.dropLast(3))) }
    }

    @Test("kill -9 after publishing: restore from the captured state and learner, re-send pending, counted once")
    func killAndResume() throws {
        let events = try log(900)
        var nodes = [try Node(id: "a", seed: 1), try Node(id: "b", seed: 2)]
        var shared: [(key: String, value: [UInt8])] = []
        let half = events.count / 2
        // Up to the capture: both learn, exchange, a publishes at its capture and the batch is acknowledged.
        for (n, e) in events[..<half].enumerated() {
            try nodes[n % 2].learn(e)
            if n % 97 == 0 { try settleOnce(&nodes, &shared) }
        }
        nodes[0].publish(to: &shared)  // capture: collect; the snapshot is durable; produced
        let captured = (
            learner: nodes[0].learner, state: nodes[0].stream.encodeState(learner: nodes[0].learner),
            position: half
        )
        // After the capture a goes on learning and publishes once more (this snapshot never became durable,
        // so that batch was never sent), b reads a's first batch, then a is killed.
        for (n, e) in events[half..<(half + 100)].enumerated() where n % 2 == 0 { try nodes[0].learn(e) }
        _ = nodes[0].stream.collect(from: nodes[0].learner)
        try nodes[1].read(shared)
        // Restart: the captured learner and state, base rebuilt, pending re-sent (a duplicate for b).
        var a = try Node(id: "a", seed: 1)
        a.learner = captured.learner
        a.stream = try ItemSyncStream(decoding: captured.state)
        a.stream.rebase(on: a.learner)
        a.cursor = Int(a.stream.readPosition)
        #expect(a.stream.pending.count == 1)
        for batch in a.stream.pending { shared.append(("a", ItemDeltaCodec.encode(batch))) }
        nodes[0] = a
        #expect(try nodes[1].read(shared) == 0, "the re-sent batch is a duplicate")
        // a re-learns from its snapshot's position; everyone goes on.
        for (n, e) in events[captured.position...].enumerated() {
            try nodes[n % 2].learn(e)
            if n % 89 == 0 { try settleOnce(&nodes, &shared) }
        }
        try settle(&nodes, &shared)
        try expectConverged(nodes, events: events)
    }

    func settleOnce(_ nodes: inout [Node], _ shared: inout [(key: String, value: [UInt8])]) throws {
        for i in nodes.indices { nodes[i].publish(to: &shared) }
        for i in nodes.indices { try nodes[i].read(shared) }
    }
}
