/// The most popular item slots, so the unknown-user fallback ranks in O(K) instead of O(items).
///
/// Invariant: `slots` is the exact best-first prefix, by (stored popularity desc, slot asc); with
/// `complete` it holds every item of positive popularity. A reset item drops out (the prefix stays
/// exact, only shorter, and is rebuilt below half capacity). Derived: rebuilt on load, never serialized.
public struct PopularityLeaders: Sendable {
    public static let capacity = 128
    public private(set) var slots: [Int32] = []
    var complete = true

    @inline(__always)
    static func ranks(_ a: Int32, above b: Int32, _ p: UnsafeBufferPointer<Float>) -> Bool {
        p[Int(a)] > p[Int(b)] || (p[Int(a)] == p[Int(b)] && a < b)
    }

    /// Item `i`'s popularity grew.
    mutating func increased(_ i: Int32, popularity: [Float]) {
        popularity.withUnsafeBufferPointer { p in
            var at: Int
            if let existing = slots.firstIndex(of: i) {
                at = existing
            } else if complete && slots.count < Self.capacity {
                slots.append(i)
                at = slots.count - 1
            } else if let last = slots.last, Self.ranks(i, above: last, p) {
                if slots.count >= Self.capacity {
                    slots[slots.count - 1] = i
                    complete = false
                } else {
                    slots.append(i)
                }
                at = slots.count - 1
            } else {
                complete = false  // a positive item is left out
                return
            }
            while at > 0 && Self.ranks(slots[at], above: slots[at - 1], p) {
                slots.swapAt(at, at - 1)
                at -= 1
            }
        }
    }

    /// Item `i`'s popularity was reset to 0 (its slot was freed).
    mutating func reset(_ i: Int32, popularity: [Float]) {
        guard let at = slots.firstIndex(of: i) else { return }
        slots.remove(at: at)
        if !complete && slots.count < Self.capacity / 2 { rebuild(popularity: popularity) }
    }

    /// Recomputes the prefix from scratch (load, renormalization, after many resets).
    mutating func rebuild(popularity: [Float]) {
        var selector = TopKSelector(k: Self.capacity)
        var positive = 0
        for (i, p) in popularity.enumerated() where p > 0 {
            positive += 1
            selector.offer(ScoredIndex(index: Int32(i), score: p))
        }
        slots = selector.sorted().map(\.index)
        complete = positive <= Self.capacity
    }
}
