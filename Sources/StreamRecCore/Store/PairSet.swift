/// A set of (user, item) pairs: open addressing with linear probing and backward-shift deletion.
///
/// One flat `[UInt64]` table for all users keeps "has this user consumed this item?" O(1) and
/// allocation-free on the hot path (no per-user sets, no dictionary of dictionaries).
struct PairSet: Sendable, Equatable {
    private static let empty = UInt64.max
    private var table: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(minimumCapacity: Int = 1024) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        table = [UInt64](repeating: PairSet.empty, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func key(_ user: Int32, _ item: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: user)) << 32 | UInt64(UInt32(bitPattern: item))
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        // Fibonacci hashing: spreads sequential ids over the table.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    @inline(__always)
    func contains(_ user: Int32, _ item: Int32) -> Bool {
        let k = PairSet.key(user, item)
        var i = home(k)
        return table.withUnsafeBufferPointer { t in
            while true {
                let v = t[i]
                if v == k { return true }
                if v == PairSet.empty { return false }
                i = (i + 1) & mask
            }
        }
    }

    /// Returns true when the pair was newly inserted.
    @discardableResult
    mutating func insert(_ user: Int32, _ item: Int32) -> Bool {
        if (count + 1) * 4 > table.count * 3 { grow() }
        let k = PairSet.key(user, item)
        var i = home(k)
        while true {
            let v = table[i]
            if v == k { return false }
            if v == PairSet.empty {
                table[i] = k
                count += 1
                return true
            }
            i = (i + 1) & mask
        }
    }

    mutating func remove(_ user: Int32, _ item: Int32) {
        let k = PairSet.key(user, item)
        var i = home(k)
        while true {
            let v = table[i]
            if v == PairSet.empty { return }
            if v == k { break }
            i = (i + 1) & mask
        }
        // Backward-shift: pull later entries of the probe run into the hole so lookups stay correct
        // without tombstones.
        var hole = i
        var j = (i + 1) & mask
        while table[j] != PairSet.empty {
            let h = home(table[j])
            let distHole = (j - hole) & mask
            let distHome = (j - h) & mask
            if distHome >= distHole {
                table[hole] = table[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        table[hole] = PairSet.empty
        count -= 1
    }

    private mutating func grow() {
        let old = table
        table = [UInt64](repeating: PairSet.empty, count: old.count * 2)
        mask = table.count - 1
        count = 0
        for k in old where k != PairSet.empty {
            var i = home(k)
            while table[i] != PairSet.empty { i = (i + 1) & mask }
            table[i] = k
            count += 1
        }
    }

    var allocatedBytes: Int { table.capacity * 8 }
}
