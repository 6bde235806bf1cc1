#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Incremental item–item co-occurrence (item-kNN) in `items × width` entries whatever the log: a full
/// list replaces the entry that contributes least (``add(_:_:_:)``). Scores are cosine-normalized,
/// `w(a, b) / sqrt(n_a · n_b)`, so popular items don't dominate every list; a reused slot bumps its
/// generation so the evicted item's pairs never leak.
public struct ItemNeighbors: Sendable, Equatable {
    /// Neighbours kept per item (0 = off: no storage at all).
    public let width: Int
    public private(set) var rows: Int = 0
    /// rows × width neighbour slots (−1 = empty), their weights and the neighbour's generation.
    private(set) var neighbor: [Int32] = []
    private(set) var weight: [Float] = []
    private(set) var neighborGeneration: [UInt32] = []
    /// Per item: occurrences (events) and the slot's generation.
    private(set) var occurrences: [Float] = []
    private(set) var generation: [UInt32] = []
    /// Some slot was ever reset, so entries may be stale; until then the generation checks (a random
    /// access per entry) are skipped. Derived from `generation`, not serialized.
    private var mayHaveStale = false

    public init(width: Int) { self.width = max(0, width) }

    public var isEnabled: Bool { width > 0 }

    public mutating func appendItem() {
        guard isEnabled else { return }
        rows += 1
        neighbor.append(contentsOf: repeatElement(-1, count: width))
        weight.append(contentsOf: repeatElement(0, count: width))
        neighborGeneration.append(contentsOf: repeatElement(0, count: width))
        occurrences.append(0)
        generation.append(0)
    }

    /// Forgets a reused slot: its own list, its count, and (via the generation) every entry naming it.
    public mutating func reset(item i: Int32) {
        guard isEnabled, Int(i) < rows else { return }
        let base = Int(i) * width
        for c in base..<(base + width) {
            neighbor[c] = -1
            weight[c] = 0
            neighborGeneration[c] = 0
        }
        occurrences[Int(i)] = 0
        generation[Int(i)] &+= 1
        mayHaveStale = true
    }

    /// Counts one occurrence of `i` (the normalizer).
    @inline(__always)
    public mutating func countOccurrence(_ i: Int32) {
        guard isEnabled else { return }
        occurrences[Int(i)] += 1
    }

    /// Adds `w` to the pair (a → b): O(width) scan, no allocation. When the list is full, the entry with
    /// the smallest `weight² / n_neighbour` (the one contributing least to cosine scores) gives way if the
    /// newcomer's own value is at least as large, so rare but strongly associated items stay listed
    /// next to popular ones.
    public mutating func add(_ a: Int32, _ b: Int32, _ w: Float) {
        guard isEnabled, a != b else { return }
        let base = Int(a) * width
        let gen = generation[Int(b)]
        let checkStale = mayHaveStale
        // Two passes, same outcome as one: the first finds the pair (or the first free entry) with integer
        // compares only; the eviction keys (a division and a random read per entry) are computed only
        // when the list is full, which is what made one pass the blend's dearest learning step.
        var free = -1
        let found: Int? = neighbor.withUnsafeBufferPointer { N in
            neighborGeneration.withUnsafeBufferPointer { G in
                generation.withUnsafeBufferPointer { GEN in
                    func isMatch(_ c: Int) -> Bool {
                        let n = N[c]
                        if n == b && G[c] == gen { return true }
                        if free < 0 && (n < 0 || (checkStale && G[c] != GEN[Int(n)])) { free = c }
                        return false
                    }
                    var c = base
                    let end = base + width
                    if !checkStale {
                        // Without stale entries only `b` or an empty entry (−1) matters: skip blocks of
                        // 8 that hold neither (OR tree of lane masks; `any(_:)` is an out-of-line call).
                        let key = SIMD8<Int32>(repeating: b)
                        let zero = SIMD8<Int32>(repeating: 0)
                        while c + 8 <= end {
                            let v = UnsafeRawPointer(N.baseAddress! + c).loadUnaligned(as: SIMD8<Int32>.self)
                            let m =
                                zero.replacing(with: -1, where: v .== key) | zero.replacing(with: -1, where: v .< zero)
                            let m4 = m.lowHalf | m.highHalf
                            let m2 = m4.lowHalf | m4.highHalf
                            if (m2[0] | m2[1]) != 0 {
                                for l in c..<(c + 8) where isMatch(l) { return l }
                            }
                            c += 8
                        }
                    }
                    while c < end {
                        if isMatch(c) { return c }
                        c += 1
                    }
                    return nil
                }
            }
        }
        if let found {
            weight[found] += w
            return
        }
        if free < 0 {
            var weakest = -1
            var weakestKey = Float.infinity
            weight.withUnsafeBufferPointer { W in
                occurrences.withUnsafeBufferPointer { O in
                    neighbor.withUnsafeBufferPointer { N in
                        for c in base..<(base + width) {
                            let key = W[c] * W[c] / max(O[Int(N[c])], 1)
                            if key < weakestKey {
                                weakestKey = key
                                weakest = c
                            }
                        }
                    }
                }
            }
            guard weakest >= 0, w * w / max(occurrences[Int(b)], 1) >= weakestKey else { return }
            free = weakest
        }
        neighbor[free] = b
        weight[free] = w
        neighborGeneration[free] = gen
    }

    /// The cosine weight of `b` in `a`'s list, exactly the value ``forEachNeighbor(of:_:)`` passes for it
    /// (nil when not listed): a lookup for callers that need a few pairs, not a whole list. The list is
    /// scanned 8 entries per compare; a live `b` is listed at most once (``add(_:_:_:)`` matches it).
    @inline(__always)
    public func similarityIfListed(_ a: Int32, _ b: Int32) -> Float? {
        guard isEnabled, Int(a) < rows, b >= 0 else { return nil }
        let na = occurrences[Int(a)]
        guard na > 0 else { return nil }
        let base = Int(a) * width
        let end = base + width
        let checkStale = mayHaveStale
        return neighbor.withUnsafeBufferPointer { N -> Float? in
            func live(_ c: Int) -> Bool { !checkStale || neighborGeneration[c] == generation[Int(b)] }
            func value(_ c: Int) -> Float? {
                let nb = occurrences[Int(b)]
                return nb > 0 ? weight[c] / (na * nb).squareRoot() : nil
            }
            let key = SIMD8<Int32>(repeating: b)
            var c = base
            while c + 8 <= end {
                let v = UnsafeRawPointer(N.baseAddress! + c).loadUnaligned(as: SIMD8<Int32>.self)
                // "Any lane equal" as an OR tree of lane masks (`any(_:)` is an out-of-line call here).
                let m = SIMD8<Int32>(repeating: 0).replacing(with: -1, where: v .== key)
                let m4 = m.lowHalf | m.highHalf
                let m2 = m4.lowHalf | m4.highHalf
                if (m2[0] | m2[1]) != 0 {
                    for l in c..<(c + 8) where N[l] == b && live(l) { return value(l) }
                }
                c += 8
            }
            while c < end {
                if N[c] == b && live(c) { return value(c) }
                c += 1
            }
            return nil
        }
    }
    /// Adds `weight · decay^c · similarity(context[c], j)` for every neighbour j of every item of
    /// `context` into `scores` (dense over item slots, all zero on entry; grown to `itemCount`). With a
    /// weight ≤ 0 nothing is added and `context` is emptied, so ``clearScores(of:in:)`` has nothing to do.
    func accumulateScores(
        of context: inout [Int32],
        weight: Float,
        decay: Float,
        itemCount n: Int,
        into scores: inout [Float]
    ) {
        if scores.count < n { scores.append(contentsOf: repeatElement(0, count: n - scores.count)) }
        var w = weight
        guard w > 0 else {
            context.removeAll(keepingCapacity: true)
            return
        }
        scores.withUnsafeMutableBufferPointer { S in
            for x in context {
                forEachNeighbor(of: x) { j, s in S[Int(j)] += w * s }
                w *= decay
            }
        }
    }

    /// Resets the entries ``accumulateScores(of:weight:decay:itemCount:into:)`` touched
    /// (O(context × width), not O(items)).
    func clearScores(of context: [Int32], in scores: inout [Float]) {
        scores.withUnsafeMutableBufferPointer { S in
            for x in context { forEachNeighbor(of: x) { j, _ in S[Int(j)] = 0 } }
        }
    }

    /// Calls `body(neighbour, cosine weight)` for the live neighbours of `a`.
    @inline(__always)
    public func forEachNeighbor(of a: Int32, _ body: (Int32, Float) -> Void) {
        guard isEnabled, Int(a) < rows else { return }
        let base = Int(a) * width
        let na = occurrences[Int(a)]
        guard na > 0 else { return }
        let checkStale = mayHaveStale
        for c in base..<(base + width) {
            let n = neighbor[c]
            guard n >= 0, !checkStale || neighborGeneration[c] == generation[Int(n)] else { continue }
            let nb = occurrences[Int(n)]
            if nb > 0 { body(n, weight[c] / (na * nb).squareRoot()) }
        }
    }

    /// The live neighbour in entry `entry` (0..<width) of `a`'s list, if any.
    @inline(__always)
    public func neighbor(of a: Int32, entry: Int) -> Int32? {
        guard isEnabled, Int(a) < rows, entry >= 0, entry < width else { return nil }
        let c = Int(a) * width + entry
        let n = neighbor[c]
        return n >= 0 && neighborGeneration[c] == generation[Int(n)] ? n : nil
    }

    /// Cosine-normalized weight of the pair (a → b), 0 when not listed.
    public func similarity(_ a: Int32, _ b: Int32) -> Float {
        var s: Float = 0
        forEachNeighbor(of: a) { n, w in if n == b { s = w } }
        return s
    }

    public var allocatedBytes: Int {
        neighbor.capacity * 4 + weight.capacity * 4 + neighborGeneration.capacity * 4
            + occurrences.capacity * 4 + generation.capacity * 4
    }

    // MARK: Serialization

    func encode(into w: inout BinaryWriter) {
        w.write(UInt32(width))
        w.write(UInt32(rows))
        w.writeArray(neighbor)
        w.writeArray(weight)
        w.writeArray(neighborGeneration)
        w.writeArray(occurrences)
        w.writeArray(generation)
    }

    static func decode(from r: inout BinaryReader, width expected: Int, items: Int) throws(BinaryReader.Failure) -> Self
    {
        let width = Int(try r.read(UInt32.self, "neighbour width"))
        let rows = Int(try r.read(UInt32.self, "neighbour rows"))
        guard width == max(0, expected), rows == (width > 0 ? items : 0) else {
            throw .init(description: "item neighbour table disagrees with the config or item count")
        }
        var m = ItemNeighbors(width: width)
        m.rows = rows
        m.neighbor = try r.readArray(Int32.self, "neighbours")
        m.weight = try r.readArray(Float.self, "neighbour weights")
        m.neighborGeneration = try r.readArray(UInt32.self, "neighbour generations")
        m.occurrences = try r.readArray(Float.self, "occurrences")
        m.generation = try r.readArray(UInt32.self, "generations")
        m.mayHaveStale = m.generation.contains { $0 != 0 }
        guard m.neighbor.count == rows * width, m.weight.count == rows * width,
            m.neighborGeneration.count == rows * width, m.occurrences.count == rows, m.generation.count == rows,
            m.neighbor.allSatisfy({ $0 >= -1 && Int($0) < rows })
        else { throw .init(description: "item neighbour arrays have wrong sizes") }
        return m
    }
}
