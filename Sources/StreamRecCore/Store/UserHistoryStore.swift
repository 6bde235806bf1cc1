/// Per-user sequence state, indexed by dense user slot: a bounded ring of recent (item, time) pairs,
/// interaction counts, first/last-seen times, and a bounded seen-set used to exclude consumed items
/// from recommendations.
///
/// Storage is struct-of-arrays sized by slot count, so appending an event never allocates (apart from
/// amortized growth when a new user or a new seen item arrives).
public struct UserHistoryStore: Sendable {
    /// Recent items kept per user (the sequence context).
    public let historyLength: Int
    /// Distinct consumed items remembered per user for exclusion; the oldest is forgotten beyond this.
    public let maxSeenPerUser: Int

    private var historyItems: [Int32] = []
    private var historyTimes: [Int64] = []
    /// Ring write position and fill per user.
    private var ringHead: [UInt32] = []
    private var ringCount: [UInt32] = []
    public private(set) var eventCounts: [UInt32] = []
    public private(set) var firstSeen: [Int64] = []
    public private(set) var lastSeen: [Int64] = []
    /// Seen items per user in first-consumed order (bounded by `maxSeenPerUser`).
    private var seenLists: [[Int32]] = []
    private var seenPairs = PairSet()

    public init(historyLength: Int, maxSeenPerUser: Int) {
        precondition(historyLength > 0 && historyLength <= 65_535)
        precondition(maxSeenPerUser > 0)
        self.historyLength = historyLength
        self.maxSeenPerUser = maxSeenPerUser
    }

    public var slotCount: Int { eventCounts.count }

    /// Makes sure slot `user` exists (slots are created in order by ``IdDictionary``).
    public mutating func ensureSlot(_ user: Int32) {
        let needed = Int(user) + 1
        guard needed > slotCount else { return }
        let add = needed - slotCount
        historyItems.append(contentsOf: repeatElement(-1, count: add * historyLength))
        historyTimes.append(contentsOf: repeatElement(0, count: add * historyLength))
        ringHead.append(contentsOf: repeatElement(0, count: add))
        ringCount.append(contentsOf: repeatElement(0, count: add))
        eventCounts.append(contentsOf: repeatElement(0, count: add))
        firstSeen.append(contentsOf: repeatElement(0, count: add))
        lastSeen.append(contentsOf: repeatElement(0, count: add))
        seenLists.append(contentsOf: repeatElement([], count: add))
    }

    /// Clears a slot whose user was evicted so the next occupant starts fresh.
    public mutating func reset(_ user: Int32) {
        let u = Int(user)
        guard u < slotCount else { return }
        for item in seenLists[u] { seenPairs.remove(user, item) }
        seenLists[u] = []
        ringHead[u] = 0
        ringCount[u] = 0
        eventCounts[u] = 0
        firstSeen[u] = 0
        lastSeen[u] = 0
        let base = u * historyLength
        for i in base..<(base + historyLength) {
            historyItems[i] = -1
            historyTimes[i] = 0
        }
    }

    /// Appends an interaction. Returns true when the user had not consumed `item` before (as far as the
    /// bounded seen-set remembers).
    @discardableResult
    public mutating func record(user: Int32, item: Int32, timestamp: Int64) -> Bool {
        let u = Int(user)
        let pos = u * historyLength + Int(ringHead[u])
        historyItems[pos] = item
        historyTimes[pos] = timestamp
        ringHead[u] = (ringHead[u] + 1) % UInt32(historyLength)
        if ringCount[u] < UInt32(historyLength) { ringCount[u] += 1 }
        if eventCounts[u] == 0 { firstSeen[u] = timestamp }
        eventCounts[u] &+= 1
        lastSeen[u] = max(lastSeen[u], timestamp)
        guard seenPairs.insert(user, item) else { return false }
        if seenLists[u].count >= maxSeenPerUser {
            let forgotten = seenLists[u].removeFirst()
            seenPairs.remove(user, forgotten)
        }
        seenLists[u].append(item)
        return true
    }

    /// Replaces slot `user`'s state with another learner's (``UserStateRecord`` import): `history` oldest
    /// first (the newest `historyLength` are kept), `seen` in first-consumed order (the newest
    /// `maxSeenPerUser` are kept). The slot must exist.
    mutating func restore(
        user: Int32,
        history: [(item: Int32, timestamp: Int64)],
        seen: [Int32],
        eventCount: UInt32,
        firstSeen: Int64,
        lastSeen: Int64
    ) {
        reset(user)
        let u = Int(user)
        for e in history.suffix(historyLength) {
            let pos = u * historyLength + Int(ringHead[u])
            historyItems[pos] = e.item
            historyTimes[pos] = e.timestamp
            ringHead[u] = (ringHead[u] + 1) % UInt32(historyLength)
            ringCount[u] += 1
        }
        var kept: [Int32] = []
        kept.reserveCapacity(min(seen.count, maxSeenPerUser))
        for item in seen.suffix(maxSeenPerUser) where seenPairs.insert(user, item) { kept.append(item) }
        seenLists[u] = kept
        eventCounts[u] = eventCount
        self.firstSeen[u] = firstSeen
        self.lastSeen[u] = lastSeen
    }

    @inline(__always)
    public func hasSeen(user: Int32, item: Int32) -> Bool { seenPairs.contains(user, item) }

    public func seenItems(of user: Int32) -> [Int32] {
        Int(user) < slotCount ? seenLists[Int(user)] : []
    }

    public func seenCount(of user: Int32) -> Int { Int(user) < slotCount ? seenLists[Int(user)].count : 0 }

    /// Number of remembered recent events for `user`.
    public func historyCount(of user: Int32) -> Int { Int(user) < slotCount ? Int(ringCount[Int(user)]) : 0 }

    /// Recent items, most recent first, written into `buffer` (cleared first; capacity is kept so
    /// callers can reuse it without allocating). `skip` drops the most recent ones first (e.g. 1 = the
    /// items before the event just recorded).
    public func recentItems(of user: Int32, into buffer: inout [Int32], limit: Int = .max, skip: Int = 0) {
        buffer.removeAll(keepingCapacity: true)
        let u = Int(user)
        guard u < slotCount else { return }
        let available = max(0, Int(ringCount[u]) - skip)
        let n = min(available, limit)
        var pos = Int(ringHead[u])
        for _ in 0..<min(skip, Int(ringCount[u])) { pos = pos == 0 ? historyLength - 1 : pos - 1 }
        for _ in 0..<n {
            pos = pos == 0 ? historyLength - 1 : pos - 1
            buffer.append(historyItems[u * historyLength + pos])
        }
    }

    /// Recent (item, timestamp) pairs, most recent first.
    public func recentEvents(of user: Int32) -> [(item: Int32, timestamp: Int64)] {
        let u = Int(user)
        guard u < slotCount else { return [] }
        var out: [(item: Int32, timestamp: Int64)] = []
        var pos = Int(ringHead[u])
        for _ in 0..<Int(ringCount[u]) {
            pos = pos == 0 ? historyLength - 1 : pos - 1
            out.append((historyItems[u * historyLength + pos], historyTimes[u * historyLength + pos]))
        }
        return out
    }

    public var allocatedBytes: Int {
        historyItems.capacity * 4 + historyTimes.capacity * 8 + (ringHead.capacity + ringCount.capacity) * 4
            + eventCounts.capacity * 4 + (firstSeen.capacity + lastSeen.capacity) * 8
            + seenLists.reduce(seenLists.capacity * MemoryLayout<[Int32]>.stride) { $0 + $1.capacity * 4 }
            + seenPairs.allocatedBytes
    }

    // MARK: Serialization

    func encode(into w: inout BinaryWriter) {
        w.write(UInt32(historyLength))
        w.write(UInt64(maxSeenPerUser))
        w.writeArray(historyItems)
        w.writeArray(historyTimes)
        w.writeArray(ringHead)
        w.writeArray(ringCount)
        w.writeArray(eventCounts)
        w.writeArray(firstSeen)
        w.writeArray(lastSeen)
        w.write(UInt64(seenLists.count))
        for list in seenLists { w.writeArray(list) }
    }

    static func decode(from r: inout BinaryReader) throws(BinaryReader.Failure) -> UserHistoryStore {
        let h = Int(try r.read(UInt32.self, "history length"))
        let maxSeen = Int(try r.read(UInt64.self, "max seen"))
        guard h > 0, h <= 65_535, maxSeen > 0 else { throw .init(description: "user store: invalid bounds") }
        var s = UserHistoryStore(historyLength: h, maxSeenPerUser: maxSeen)
        s.historyItems = try r.readArray(Int32.self, "history items")
        s.historyTimes = try r.readArray(Int64.self, "history times")
        s.ringHead = try r.readArray(UInt32.self, "ring heads")
        s.ringCount = try r.readArray(UInt32.self, "ring counts")
        s.eventCounts = try r.readArray(UInt32.self, "event counts")
        s.firstSeen = try r.readArray(Int64.self, "first seen")
        s.lastSeen = try r.readArray(Int64.self, "last seen")
        let n = Int(try r.read(UInt64.self, "seen list count"))
        let slots = s.eventCounts.count
        guard n == slots, s.historyItems.count == slots * h, s.historyTimes.count == slots * h,
            s.ringHead.count == slots, s.ringCount.count == slots, s.firstSeen.count == slots,
            s.lastSeen.count == slots
        else { throw .init(description: "user store: array sizes disagree") }
        s.seenPairs = PairSet(minimumCapacity: 1024)
        s.seenLists.reserveCapacity(n)
        for u in 0..<n {
            let list = try r.readArray(Int32.self, "seen list")
            for item in list { s.seenPairs.insert(Int32(u), item) }
            s.seenLists.append(list)
        }
        return s
    }
}

extension UserHistoryStore: Equatable {
    /// Compares observable state; the pair hash table is derived from the seen lists.
    public static func == (a: UserHistoryStore, b: UserHistoryStore) -> Bool {
        a.historyLength == b.historyLength && a.maxSeenPerUser == b.maxSeenPerUser
            && a.historyItems == b.historyItems && a.historyTimes == b.historyTimes
            && a.ringHead == b.ringHead && a.ringCount == b.ringCount && a.eventCounts == b.eventCounts
            && a.firstSeen == b.firstSeen && a.lastSeen == b.lastSeen && a.seenLists == b.seenLists
    }
}
