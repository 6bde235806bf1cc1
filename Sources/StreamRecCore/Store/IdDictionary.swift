/// String id ↔ dense `Int32` index, with a hard cap and least-recently-active eviction.
///
/// Dense indices address rows in the factor matrices and the user store. When a new id arrives and
/// the dictionary is full, the least recently touched id is evicted and its slot reused; the caller
/// resets the slot's state. Recency is an intrusive doubly linked list over slots, so touching an id
/// is O(1) and allocation-free.
public struct IdDictionary: Sendable, Equatable {
    public let capacity: Int
    private var indexOf: [String: Int32] = [:]
    /// Id per slot; "" marks a free slot (ids are never empty: decoders reject them).
    public private(set) var ids: [String] = []
    private var newer: [Int32] = []
    private var older: [Int32] = []
    private var mostRecent: Int32 = -1
    private var leastRecent: Int32 = -1
    private var freeSlots: [Int32] = []
    public private(set) var evictions: Int = 0

    public init(capacity: Int) {
        precondition(capacity > 0 && capacity <= Int(Int32.max), "capacity must be in 1...Int32.max")
        self.capacity = capacity
    }

    /// Result of ``touch(_:)``.
    public struct Touch: Equatable, Sendable {
        public var index: Int32
        /// The id was not present before this call.
        public var isNew: Bool
        /// The id that was evicted to make room (its slot is `index`), if any.
        public var evictedId: String?
    }

    /// Number of live ids.
    public var count: Int { indexOf.count }
    /// Number of slots ever allocated (live + free); dense per-slot arrays must have this size.
    public var slotCount: Int { ids.count }

    public func index(of id: String) -> Int32? { indexOf[id] }

    public func id(at index: Int32) -> String? {
        guard index >= 0, Int(index) < ids.count, !ids[Int(index)].isEmpty else { return nil }
        return ids[Int(index)]
    }

    public func isLive(_ index: Int32) -> Bool { index >= 0 && Int(index) < ids.count && !ids[Int(index)].isEmpty }

    /// Looks up `id`, inserting it (and evicting the least recently active id if full), and marks it
    /// most recently active.
    public mutating func touch(_ id: String) -> Touch {
        if let existing = indexOf[id] {
            moveToFront(existing)
            return Touch(index: existing, isNew: false, evictedId: nil)
        }
        var evicted: String?
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
        } else if ids.count < capacity {
            slot = Int32(ids.count)
            ids.append("")
            newer.append(-1)
            older.append(-1)
        } else {
            slot = leastRecent
            let old = ids[Int(slot)]
            unlink(slot)
            indexOf[old] = nil
            evicted = old
            evictions += 1
        }
        ids[Int(slot)] = id
        indexOf[id] = slot
        linkFront(slot)
        return Touch(index: slot, isNew: true, evictedId: evicted)
    }

    /// Removes `id` (e.g. TTL expiry); its slot becomes free for reuse.
    @discardableResult
    public mutating func remove(_ id: String) -> Int32? {
        guard let slot = indexOf.removeValue(forKey: id) else { return nil }
        unlink(slot)
        ids[Int(slot)] = ""
        freeSlots.append(slot)
        return slot
    }

    /// Live slots from least to most recently active.
    public func slotsByRecency() -> [Int32] {
        var out = [Int32]()
        out.reserveCapacity(count)
        var s = leastRecent
        while s >= 0 {
            out.append(s)
            s = newer[Int(s)]
        }
        return out
    }

    /// The least recently active live slot, if any.
    public var leastRecentSlot: Int32? { leastRecent >= 0 ? leastRecent : nil }

    private mutating func moveToFront(_ slot: Int32) {
        guard slot != mostRecent else { return }
        unlink(slot)
        linkFront(slot)
    }

    private mutating func unlink(_ slot: Int32) {
        let n = newer[Int(slot)]
        let o = older[Int(slot)]
        if n >= 0 { older[Int(n)] = o } else { mostRecent = o }
        if o >= 0 { newer[Int(o)] = n } else { leastRecent = n }
        newer[Int(slot)] = -1
        older[Int(slot)] = -1
    }

    private mutating func linkFront(_ slot: Int32) {
        older[Int(slot)] = mostRecent
        newer[Int(slot)] = -1
        if mostRecent >= 0 { newer[Int(mostRecent)] = slot }
        mostRecent = slot
        if leastRecent < 0 { leastRecent = slot }
    }

    // MARK: Serialization

    func encode(into w: inout BinaryWriter) {
        w.write(UInt64(capacity))
        w.writeStrings(ids)
        w.writeArray(slotsByRecency())
        w.writeArray(freeSlots)
        w.write(UInt64(evictions))
    }

    static func decode(from r: inout BinaryReader, what: String) throws(BinaryReader.Failure) -> IdDictionary {
        let capacity = Int(try r.read(UInt64.self, "\(what) capacity"))
        guard capacity > 0, capacity <= Int(Int32.max) else {
            throw .init(description: "\(what): invalid capacity \(capacity)")
        }
        var d = IdDictionary(capacity: capacity)
        let ids = try r.readStrings("\(what) ids")
        let order = try r.readArray(Int32.self, "\(what) recency")
        let free = try r.readArray(Int32.self, "\(what) free slots")
        d.evictions = Int(try r.read(UInt64.self, "\(what) evictions"))
        guard ids.count <= capacity else { throw .init(description: "\(what): \(ids.count) ids exceed capacity") }
        d.ids = ids
        d.newer = [Int32](repeating: -1, count: ids.count)
        d.older = [Int32](repeating: -1, count: ids.count)
        for slot in order {
            guard slot >= 0, Int(slot) < ids.count, !ids[Int(slot)].isEmpty, d.indexOf[ids[Int(slot)]] == nil else {
                throw .init(description: "\(what): recency list names invalid slot \(slot)")
            }
            d.indexOf[ids[Int(slot)]] = slot
            d.linkFront(slot)
        }
        guard d.indexOf.count == ids.count - free.count else {
            throw .init(description: "\(what): live/free slot counts disagree")
        }
        d.freeSlots = free
        return d
    }
}
