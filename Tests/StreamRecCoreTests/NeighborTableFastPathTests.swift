import Testing

@testable import StreamRecCore

/// The co-occurrence table's fast paths (per-event cost) must give exactly what the plain
/// loops gave: `add` against a transcription of the one-pass original, `similarityIfListed` against
/// `forEachNeighbor`, over random adds, evictions and slot resets, for widths with and without a
/// SIMD tail.
@Suite("Item-neighbour table: fast paths equal the plain loops")
struct NeighborTableFastPathTests {
    /// The one-pass `add` as it was before the two-pass rewrite, on plain arrays.
    struct Reference {
        let width: Int
        var neighbor: [Int32], weight: [Float], neighborGeneration: [UInt32]
        var occurrences: [Float], generation: [UInt32]
        var mayHaveStale = false

        init(width: Int, items: Int) {
            self.width = width
            neighbor = Array(repeating: -1, count: width * items)
            weight = Array(repeating: 0, count: width * items)
            neighborGeneration = Array(repeating: 0, count: width * items)
            occurrences = Array(repeating: 0, count: items)
            generation = Array(repeating: 0, count: items)
        }

        mutating func add(_ a: Int32, _ b: Int32, _ w: Float) {
            guard a != b else { return }
            let base = Int(a) * width
            let gen = generation[Int(b)]
            var weakest = -1
            var weakestKey = Float.infinity
            var free = -1
            for c in base..<(base + width) {
                let n = neighbor[c]
                if n == b && neighborGeneration[c] == gen {
                    weight[c] += w
                    return
                }
                if n < 0 || (mayHaveStale && neighborGeneration[c] != generation[Int(n)]) {
                    if free < 0 { free = c }
                } else if free < 0 {
                    let key = weight[c] * weight[c] / max(occurrences[Int(n)], 1)
                    if key < weakestKey {
                        weakestKey = key
                        weakest = c
                    }
                }
            }
            if free < 0 {
                guard weakest >= 0, w * w / max(occurrences[Int(b)], 1) >= weakestKey else { return }
                free = weakest
            }
            neighbor[free] = b
            weight[free] = w
            neighborGeneration[free] = gen
        }

        mutating func reset(_ i: Int32) {
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
    }

    @Test("add and similarityIfListed agree with the plain loops", arguments: [3, 8, 13, 24])
    func fastPathsMatch(width: Int) {
        let items = 40
        var table = ItemNeighbors(width: width)
        for _ in 0..<items { table.appendItem() }
        var reference = Reference(width: width, items: items)
        var rng = RandomSource(seed: UInt64(width))
        for step in 0..<6_000 {
            let a = Int32(rng.nextInt(below: items))
            let b = Int32(rng.nextInt(below: items))
            if step % 997 == 500 {
                table.reset(item: a)
                reference.reset(a)
                continue
            }
            table.countOccurrence(b)
            reference.occurrences[Int(b)] += 1
            let w = Float(1 + rng.nextInt(below: 4)) * 0.5
            table.add(a, b, w)
            reference.add(a, b, w)
        }
        #expect(table.neighbor == reference.neighbor)
        #expect(table.weight == reference.weight)
        #expect(table.neighborGeneration == reference.neighborGeneration)
        var compared = 0
        for a in 0..<Int32(items) {
            var listed: [Int32: Float] = [:]
            table.forEachNeighbor(of: a) { n, s in listed[n] = s }
            for b in 0..<Int32(items) {
                #expect(table.similarityIfListed(a, b) == listed[b])
                if listed[b] != nil { compared += 1 }
            }
        }
        #expect(compared > items)  // the comparison saw listed pairs, not only absent ones
    }
}
