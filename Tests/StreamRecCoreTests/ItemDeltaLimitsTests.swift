import Testing

@testable import StreamRecCore

/// Model-sync records are untrusted input: every forged batch of the probe is refused whole, for the
/// reason it is counted under, and the learners still converge on the real ones.
@Suite("Item sync admission: finite, bounded values; known publishers; bounded sequence steps")
struct ItemDeltaLimitsTests {
    typealias Node = ItemSyncStreamTests.Node
    let limits = ItemDeltaLimits()

    /// A real batch of learner "a" (some new items, some deltas).
    func realBatch() throws -> (Node, ItemDeltaBatch) {
        var a = try Node(id: "a", seed: 1)
        for e in try ReplayTests.plantedLog(events: 300, seed: 11) { try a.learn(e) }
        let collected = a.stream.collect(from: a.learner)
        let batch = try #require(collected)
        #expect(batch.count > 10 && !batch.newRows.isEmpty)
        return (a, batch)
    }

    func admit(_ stream: ItemSyncStream, _ b: ItemDeltaBatch, _ id: String = "a", own: Bool = false) -> SyncRejection? {
        stream.admission(
            of: b,
            publisherID: id,
            own: own,
            limits: limits,
            factors: 8,
            hasContext: ModelConfig().sequenceContext > 0
        )
    }

    @Test("NaN, ±Inf and 1e30 in any column or blend delta are refused; a real batch passes")
    func values() throws {
        let (_, batch) = try realBatch()
        let reader = ItemSyncStream()
        #expect(batch.violation(of: limits) == nil)
        #expect(admit(reader, batch) == nil, "a publisher's first batch (sequence 1) introduces it")
        let forged: [(WritableKeyPath<ItemDeltaBatch, [Float]>, Float, SyncRejection)] = [
            (\.factorDeltas, .nan, .nonFinite), (\.factorDeltas, .infinity, .nonFinite),
            (\.factorDeltas, 1e30, .outOfBounds), (\.biasDeltas, -.infinity, .nonFinite),
            (\.biasDeltas, 1e30, .outOfBounds), (\.baseFactors, .nan, .nonFinite), (\.baseBias, 1e30, .outOfBounds),
            (\.popularityDeltas, .nan, .nonFinite), (\.popularityDeltas, 1e30, .outOfBounds),
        ]
        for (column, value, reason) in forged {
            var b = batch
            b[keyPath: column][b[keyPath: column].count / 2] = value
            #expect(b.violation(of: limits) == reason, "\(column) = \(value)")
            #expect(admit(reader, b) == reason)
        }
        for value: Float in [.nan, .infinity, 1e30] {
            var b = batch
            b.neighborBlendDelta = value
            #expect(b.violation(of: limits) != nil)
            b = batch
            b.popularityBlendDelta = -value
            #expect(b.violation(of: limits) != nil)
        }
        var b = batch
        b.events = -1
        #expect(b.violation(of: limits) == .outOfBounds)
        b = batch
        b.pairIds = ["x"]
        b.pairOps = [0, 3, 0]
        #expect(b.violation(of: limits) == .outOfBounds, "a pair op running past the ops")
        #expect(
            reader.admission(of: batch, publisherID: "a", own: false, limits: limits, factors: 4, hasContext: false)
                == .shape
        )
        // The bound is a setting.
        var tight = limits
        tight.maxAbsValue = 1e-6
        #expect(batch.violation(of: tight) == .outOfBounds)
    }

    @Test("unknown publishers need an announcement; sequences advance by a bounded step; own id never ahead")
    func publishers() throws {
        let (a, batch) = try realBatch()
        var reader = try Node(id: "b", seed: 2)
        var later = batch
        later.sequence = 5
        #expect(admit(reader.stream, later) == .unknownPublisher, "not a first batch, never announced")
        #expect(reader.stream.announce(publisherID: "a", sequence: 4, own: false, limits: limits) == nil)
        #expect(admit(reader.stream, later) == nil)
        try reader.stream.apply(later, publisherID: "a", own: false, to: &reader.learner)
        // The probe's forged batch: keyed as "a", sequence 2^63.
        var forged = batch
        forged.ids = []
        forged.factorDeltas = []
        forged.contextDeltas = []
        forged.baseContext = []
        forged.biasDeltas = []
        forged.popularityDeltas = []
        forged.lastSeen = []
        forged.newRows = []
        forged.baseFactors = []
        forged.baseBias = []
        forged.sequence = 1 << 63
        #expect(admit(reader.stream, forged) == .sequenceJump)
        #expect(
            reader.stream.announce(publisherID: "a", sequence: 1 << 63, own: false, limits: limits) == .sequenceJump
        )
        #expect(reader.stream.lastApplied["a"] == 5, "refused records move nothing")
        forged.sequence = 5 + limits.maxSequenceStep
        #expect(admit(reader.stream, forged) == nil, "within the step")
        // Stale re-announcements (a restarted publisher) and duplicates pass admission; apply skips them.
        #expect(reader.stream.announce(publisherID: "a", sequence: 2, own: false, limits: limits) == nil)
        #expect(reader.stream.lastApplied["a"] == 5)
        // This learner's own id: never past what it published.
        #expect(admit(a.stream, batch, own: true) == nil)
        var ahead = batch
        ahead.sequence = a.stream.sequence + 1
        #expect(admit(a.stream, ahead, own: true) == .sequenceJump)
    }

    @Test("announcements round-trip; corrupt ones are undecodable")
    func announcements() throws {
        let a = SyncAnnouncement(sequence: 42)
        let bytes = a.encoded()
        #expect(SyncAnnouncement.isAnnouncement(bytes))
        #expect(try SyncAnnouncement(decoding: bytes) == a)
        var bad = bytes
        bad[6] ^= 1
        #expect(throws: SyncRejection.undecodable) { try SyncAnnouncement(decoding: bad) }
        #expect(throws: SyncRejection.undecodable) { try SyncAnnouncement(decoding: Array(bytes.dropLast())) }
    }

    @Test("two learners converge while forged batches are interleaved in their log and refused")
    func convergeDespiteForgeries() throws {
        let t = ItemSyncStreamTests()
        let events = try t.log(900)
        var nodes = [try Node(id: "a", seed: 1), try Node(id: "b", seed: 2)]
        var shared: [(key: String, value: [UInt8])] = []
        var refused = 0
        func read(_ i: Int) throws {
            while nodes[i].cursor < shared.count {
                let r = shared[nodes[i].cursor]
                let b = try ItemDeltaCodec.decode(r.value)
                let own = r.key == nodes[i].id
                if admit(nodes[i].stream, b, r.key, own: own) == nil {
                    var node = nodes[i]
                    try node.stream.apply(b, publisherID: r.key, own: own, to: &node.learner)
                    nodes[i] = node
                } else {
                    refused += 1
                }
                nodes[i].cursor += 1
            }
        }
        for (n, e) in events.enumerated() {
            try nodes[n % 2].learn(e)
            if n % 97 == 0 {
                for i in nodes.indices { nodes[i].publish(to: &shared) }
                // Forged: a copy of the last real batch with NaN factors, and one keyed as "a" far ahead.
                if var b = try shared.last.map({ try ItemDeltaCodec.decode($0.value) }), !b.factorDeltas.isEmpty {
                    b.factorDeltas[0] = .nan
                    shared.append(("a", ItemDeltaCodec.encode(b)))
                    b.factorDeltas[0] = 0
                    b.sequence = 1 << 63
                    shared.append(("a", ItemDeltaCodec.encode(b)))
                }
                for i in nodes.indices { try read(i) }
            }
        }
        for _ in 0..<4 {
            for i in nodes.indices { nodes[i].publish(to: &shared) }
            for i in nodes.indices { try read(i) }
        }
        #expect(refused > 10)
        try t.expectConverged(nodes, events: events)
    }
}
