/// The latest recommendation list per user as read from the recommendations topic (raw message bytes),
/// bounded by a number of users and a number of bytes: when either cap is exceeded, the users whose
/// list arrived longest ago are evicted first. A newer list for a user replaces the older one and
/// counts as new. Not thread-safe by itself (``RemoteListView`` wraps it in a lock).
public struct RemoteListCache: Sendable {
    public struct Entry: Sendable, Equatable {
        public var bytes: [UInt8]
        /// When this instance read it, milliseconds since the epoch.
        public var receivedAt: Int64
        /// Arrival order, to tell the current entry from stale ones in ``order``.
        var sequence: UInt64
    }

    public let maxUsers: Int
    public let maxBytes: Int
    private var entries: [String: Entry] = [:]
    /// (user, sequence) in arrival order; entries whose sequence no longer matches were replaced or
    /// removed and are skipped (and compacted away once they outnumber the live ones).
    private var order: [(user: String, sequence: UInt64)] = []
    private var orderStart = 0
    private var nextSequence: UInt64 = 0
    /// Sum of key and value bytes of the held lists.
    public private(set) var bytes = 0
    /// Lists dropped to stay within the caps (counting lists too big to hold at all).
    public private(set) var evictions: Int64 = 0

    public init(maxUsers: Int, maxBytes: Int) {
        precondition(maxUsers > 0 && maxBytes > 0)
        self.maxUsers = maxUsers
        self.maxBytes = maxBytes
    }

    public var count: Int { entries.count }

    public func list(for user: String) -> Entry? { entries[user] }

    /// Stores `bytes` as `user`'s latest list; an empty value (a compaction tombstone) removes it.
    public mutating func put(user: String, bytes value: [UInt8], receivedAt: Int64) {
        remove(user: user)
        guard !value.isEmpty else { return }
        let size = Self.size(user: user, value: value)
        guard size <= maxBytes else {
            evictions += 1
            return
        }
        entries[user] = Entry(bytes: value, receivedAt: receivedAt, sequence: nextSequence)
        order.append((user, nextSequence))
        nextSequence &+= 1
        bytes += size
        while entries.count > maxUsers || bytes > maxBytes { evictOldest() }
        compactOrderIfSparse()
    }

    public mutating func remove(user: String) {
        guard let old = entries.removeValue(forKey: user) else { return }
        bytes -= Self.size(user: user, value: old.bytes)
    }

    private mutating func evictOldest() {
        while orderStart < order.count {
            let (user, sequence) = order[orderStart]
            orderStart += 1
            if entries[user]?.sequence == sequence {
                remove(user: user)
                evictions += 1
                return
            }
        }
    }

    private mutating func compactOrderIfSparse() {
        let held = order.count - orderStart
        let staleHeld = held > 1024 && held > 2 * entries.count
        let deadPrefix = orderStart > 1024 && orderStart * 2 > order.count
        guard staleHeld || deadPrefix else { return }
        order = order[orderStart...].filter { entries[$0.user]?.sequence == $0.sequence }
        orderStart = 0
    }

    static func size(user: String, value: [UInt8]) -> Int { user.utf8.count + value.count }
}
