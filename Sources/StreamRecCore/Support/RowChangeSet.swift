/// Which rows of a row-major store were written since the last capture: one bit per row. Lets a
/// snapshot bring a shadow copy up to date in O(changed rows) instead of copying all state when it
/// starts; scanning the bits is O(rows / 64) words (16K words at 1M rows).
public struct RowChangeSet: Sendable {
    private var words: [UInt64] = []
    public private(set) var count = 0

    public init() {}

    @inline(__always)
    public mutating func insert(_ row: Int) {
        let w = row >> 6
        let bit = UInt64(1) << UInt64(row & 63)
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w + 1 - words.count)) }
        if words[w] & bit == 0 {
            words[w] |= bit
            count += 1
        }
    }

    public func contains(_ row: Int) -> Bool {
        let w = row >> 6
        return w < words.count && words[w] & (UInt64(1) << UInt64(row & 63)) != 0
    }

    /// Calls `body` for every marked row in increasing order, then clears the set (capacity is kept).
    public mutating func drain(_ body: (Int) -> Void) {
        guard count > 0 else { return }
        for w in words.indices where words[w] != 0 {
            var bits = words[w]
            while bits != 0 {
                body(w << 6 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
            words[w] = 0
        }
        count = 0
    }
}

/// A private copy of a ``FactorMatrix`` that is brought up to date by copying only the rows the live
/// matrix marked as changed (``FactorMatrix/trackChanges()``) and the rows appended since. The first
/// capture copies everything once; each later one costs O(changed rows). A snapshot writer encodes
/// ``copy`` while the learner keeps writing the live matrix; the next ``capture(from:)`` must wait
/// until that encoding is done (the copy is the snapshot's state).
public struct FactorMatrixShadow: Sendable {
    public private(set) var copy: FactorMatrix
    /// Rows copied by the last capture (for metrics and the bench).
    public private(set) var lastCopiedRows = 0

    /// Starts tracking `live` and takes the first (full) copy.
    public init(of live: inout FactorMatrix) {
        live.trackChanges()
        copy = FactorMatrix(dimension: live.dimension)
        copy.storage = live.withUnsafeBufferPointer { Array($0) }  // a distinct buffer, not a shared one
        copy.rows = live.rows
        live.drainChanges { _, _ in }
        lastCopiedRows = live.rows
    }

    /// Makes ``copy`` equal to `live` by copying changed and appended rows; returns how many rows it copied.
    /// A matrix replaced wholesale since the last capture (a restored snapshot: no change tracking) is
    /// copied in full and tracked from then on.
    @discardableResult
    public mutating func capture(from live: inout FactorMatrix) -> Int {
        guard live.isTrackingChanges, live.stride == copy.stride else {
            self = FactorMatrixShadow(of: &live)
            return live.rows
        }
        let s = copy.stride
        let oldRows = min(copy.rows, live.rows)
        var copied = 0
        if live.rows > copy.rows {
            let from = copy.rows * s
            let to = live.rows * s
            live.withUnsafeBufferPointer { L in copy.storage.append(contentsOf: L[from..<to]) }
            copied += live.rows - copy.rows
        } else if live.rows < copy.rows {
            copy.storage.removeLast((copy.rows - live.rows) * s)
        }
        copy.rows = live.rows
        copy.storage.withUnsafeMutableBufferPointer { C in
            live.drainChanges { r, row in
                guard r < oldRows else { return }  // appended rows were copied whole above
                (C.baseAddress! + r * s).update(from: row, count: s)
                copied += 1
            }
        }
        lastCopiedRows = copied
        return copied
    }
}
