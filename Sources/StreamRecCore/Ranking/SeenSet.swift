/// The items one user consumed, as a small open-addressing set filled for one ranking call.
///
/// Ranking excludes consumed items for every candidate that could enter the top-K (tens to hundreds
/// per call). Asking the store means probing its global (user, item) hash table — megabytes, a cache
/// miss per candidate: 12% of approximate ranking's cycles in a `perf` profile. This table holds only
/// the user's own items (≤ `maxSeenPerUser`, at most 2× slots), so lookups stay in L1.
struct SeenSet: Sendable {
    private var slots: [Int32] = []
    private var mask = 0
    private(set) var count = 0
    /// The user slot the set was filled for (-1: none); ranking code checks it in debug builds.
    private(set) var user: Int32 = -1

    private static let empty: Int32 = -1

    @inline(__always)
    private static func home(_ item: Int32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: item)) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Fills the set with `items` (a user's consumed items), reusing its table.
    mutating func fill(user u: Int32, items: [Int32]) {
        clear()
        user = u
        guard !items.isEmpty else { return }
        var capacity = 16
        while capacity < 2 * items.count { capacity <<= 1 }
        if slots.count < capacity { slots = [Int32](repeating: Self.empty, count: capacity) }
        // Only the first `capacity` slots are used, so clearing costs O(items), not the largest table yet.
        mask = capacity - 1
        slots.withUnsafeMutableBufferPointer { t in
            for item in items {
                var i = Self.home(item, mask)
                while t[i] != Self.empty && t[i] != item { i = (i + 1) & mask }
                if t[i] == Self.empty {
                    t[i] = item
                    count += 1
                }
            }
        }
    }

    @inline(__always)
    func contains(_ item: Int32) -> Bool {
        guard count > 0 else { return false }
        return slots.withUnsafeBufferPointer { t in
            var i = Self.home(item, mask)
            while true {
                let v = t[i]
                if v == item { return true }
                if v == Self.empty { return false }
                i = (i + 1) & mask
            }
        }
    }

    /// Empties the set (keeps the table).
    mutating func clear() {
        if count > 0 {
            slots.withUnsafeMutableBufferPointer { t in for i in 0...mask { t[i] = Self.empty } }
            count = 0
        }
        user = -1
    }
}
