#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Incremental item–item co-occurrence (item-kNN) with bounded memory: for every item, at most
/// `width` neighbours with a co-occurrence weight; when a list is full a new pair replaces the entry
/// that contributes least to cosine scores (see ``add(_:_:_:)``), so memory is `items × width` entries
/// whatever the log. Weights decay with the gap between the two consumptions in
/// the user's sequence, so near neighbours in a session count most.
///
/// Scores are cosine-normalized, `w(a, b) / sqrt(n_a · n_b)` with `n` the item's occurrence count, so
/// popular items don't dominate every list. A slot reused by a new item bumps its generation, and
/// entries recorded under the old generation are ignored (the evicted item's pairs never leak).
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
        for c in base..<(base + width) { neighbor[c] = -1; weight[c] = 0; neighborGeneration[c] = 0 }
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
        var weakest = -1
        var weakestKey = Float.infinity
        var free = -1
        for c in base..<(base + width) {
            let n = neighbor[c]
            if n == b && neighborGeneration[c] == gen { weight[c] += w; return }
            if n < 0 || (checkStale && neighborGeneration[c] != generation[Int(n)]) {
                if free < 0 { free = c }
            } else if free < 0 {
                let key = weight[c] * weight[c] / max(occurrences[Int(n)], 1)
                if key < weakestKey { weakestKey = key; weakest = c }
            }
        }
        if free < 0 {
            guard weakest >= 0, w * w / max(occurrences[Int(b)], 1) >= weakestKey else { return }
            free = weakest
        }
        neighbor[free] = b; weight[free] = w; neighborGeneration[free] = gen
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

    static func decode(from r: inout BinaryReader, width expected: Int, items: Int) throws(BinaryReader.Failure) -> Self {
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
