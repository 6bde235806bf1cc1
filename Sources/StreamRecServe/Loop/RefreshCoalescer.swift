import StreamRecCore

/// Which users need a fresh list, and when: a user touched by an event is marked dirty with the event's
/// source position; ``takeDue(now:force:into:)`` hands out the dirty users whose last list is older than
/// the minimum refresh interval (the others wait and are emitted later with the then-latest model), so a
/// hot user costs one list per interval instead of one per event.
///
/// Indexed by user slot (no per-event dictionaries); confined to the learner thread. The due users of
/// one poll come out together, so they can be ranked as one batch.
struct RefreshCoalescer {
    /// One user to refresh and the message that last touched it (the list's `source_offset`).
    struct Due {
        var slot: Int32
        var source: SourceOffset
    }

    /// A source position with its topic interned: three integers, no string per event.
    private struct InternedSource {
        var topic: Int32
        var partition: Int32
        var offset: Int64
    }

    private let intervalNanos: UInt64
    private var dirtyFlags: [Bool] = []
    private var dirtySlots: [Int32] = []
    private var lastEmitNanos: [UInt64] = []
    private var lastSource: [InternedSource] = []
    // Topic names interned, so a source position is three integers.
    private var topicIndex: [String: Int32] = [:]
    private var topicNames: [String] = []

    init(minRefreshIntervalMillis: Int64) {
        intervalNanos = UInt64(max(0, minRefreshIntervalMillis)) * 1_000_000
    }

    var isEmpty: Bool { dirtySlots.isEmpty }

    /// The user at `slot` was touched by the message at `offset` of `topic`/`partition`.
    mutating func markDirty(_ slot: Int32, topic: String, partition: Int32, offset: Int64) {
        let s = Int(slot)
        if s >= dirtyFlags.count {
            let add = s + 1 - dirtyFlags.count
            dirtyFlags.append(contentsOf: repeatElement(false, count: add))
            lastEmitNanos.append(contentsOf: repeatElement(0, count: add))
            lastSource.append(contentsOf: repeatElement(InternedSource(topic: 0, partition: 0, offset: 0), count: add))
        }
        let t: Int32
        if let known = topicIndex[topic] {
            t = known
        } else {
            t = Int32(topicNames.count)
            topicIndex[topic] = t
            topicNames.append(topic)
        }
        lastSource[s] = InternedSource(topic: t, partition: partition, offset: offset)
        markDirty(slot)
    }

    /// The user's list must be produced again (e.g. its delivery failed), keeping its last source.
    mutating func markDirty(_ slot: Int32) {
        let s = Int(slot)
        guard s < dirtyFlags.count, !dirtyFlags[s] else { return }
        dirtyFlags[s] = true
        dirtySlots.append(slot)
    }

    /// Forgets every pending refresh: the learner was replaced (a rollback), so slots may now name other
    /// users; whoever is learned again is marked again.
    mutating func clear() {
        for s in dirtySlots { dirtyFlags[Int(s)] = false }
        dirtySlots.removeAll()
    }

    /// Moves the dirty users whose refresh interval has passed (all of them with `force`) into `due`
    /// (cleared first) and marks them emitted at `now`.
    mutating func takeDue(now: UInt64, force: Bool, into due: inout [Due]) {
        due.removeAll(keepingCapacity: true)
        guard !dirtySlots.isEmpty else { return }
        var kept: [Int32] = []
        for slot in dirtySlots {
            let s = Int(slot)
            if !force && intervalNanos > 0 && now &- lastEmitNanos[s] < intervalNanos {
                kept.append(slot)  // coalesced: emitted later with the then-latest state
                continue
            }
            dirtyFlags[s] = false
            lastEmitNanos[s] = now
            let source = lastSource[s]
            due.append(
                Due(
                    slot: slot,
                    source: SourceOffset(
                        topic: topicNames[Int(source.topic)],
                        partition: source.partition,
                        offset: source.offset
                    )
                )
            )
        }
        dirtySlots = kept
    }
}
