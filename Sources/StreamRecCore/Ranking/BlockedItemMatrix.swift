/// Item factors and biases re-laid out for ranking: items in blocks of 8, factor-major inside a block,
/// so one `SIMD8` multiply-add scores 8 items at once for one factor and no horizontal sums are needed.
///
/// Block `b` holds `(dimension + 1) * 8` floats: for factor `c`, lanes = items `8b ..< 8b+8`; the last
/// row holds the items' biases (0 when biases are off). It mirrors the row-major matrix the SGD step
/// updates, refreshed per touched item (O(k) scattered writes), and is never serialized: it is derived.
public struct BlockedItemMatrix: Sendable {
    public let dimension: Int
    private let blockFloats: Int
    public private(set) var count = 0
    private var storage: [Float] = []

    public init(dimension: Int) {
        self.dimension = dimension
        blockFloats = (dimension + 1) * 8
    }

    /// Adds a zero item at index `count`.
    public mutating func appendItem() {
        if count % 8 == 0 { storage.append(contentsOf: repeatElement(0, count: blockFloats)) }
        count += 1
    }

    /// Removes the last item, zeroing its lane (inverted lists of ``ItemIndex`` shrink by swap-remove).
    public mutating func removeLast() {
        precondition(count > 0)
        count -= 1
        if count % 8 == 0 {
            storage.removeLast(blockFloats)
        } else {
            let base = (count >> 3) * blockFloats + (count & 7)
            storage.withUnsafeMutableBufferPointer { s in
                for c in 0...dimension { s[base + c * 8] = 0 }
            }
        }
    }

    /// Copies lane `source` over lane `destination` (swap-remove in inverted lists).
    public mutating func copyLane(from source: Int, to destination: Int) {
        let from = (source >> 3) * blockFloats + (source & 7)
        let to = (destination >> 3) * blockFloats + (destination & 7)
        storage.withUnsafeMutableBufferPointer { s in
            for c in 0...dimension { s[to + c * 8] = s[from + c * 8] }
        }
    }

    /// Reserves storage for `items` items.
    public mutating func reserve(items: Int) { storage.reserveCapacity(((items + 7) >> 3) * blockFloats) }

    /// Copies item `i`'s factors (from a padded row pointer) and bias into its block lane.
    @inline(__always)
    public mutating func update(item i: Int, factors: UnsafePointer<Float>, bias: Float) {
        let base = (i >> 3) * blockFloats + (i & 7)
        let k = dimension
        storage.withUnsafeMutableBufferPointer { s in
            for c in 0..<k { s[base + c * 8] = factors[c] }
            s[base + k * 8] = bias
        }
    }

    /// Calls `body(firstItem, scores)` for every block: `scores[l]` = user · item(firstItem + l) + bias.
    /// Lanes past `count` in the last block score garbage-free zeros and must be ignored by the caller.
    @inline(__always)
    public func scoreBlocks(user: UnsafePointer<Float>, _ body: (Int, SIMD8<Float>) -> Void) {
        let k = dimension
        let blocks = (count + 7) >> 3
        storage.withUnsafeBufferPointer { s in
            var p = UnsafeRawPointer(s.baseAddress!)
            for b in 0..<blocks {
                var acc0 = SIMD8<Float>()
                var acc1 = SIMD8<Float>()
                var c = 0
                while c + 1 < k {
                    acc0 += SIMD8(repeating: user[c]) * p.loadUnaligned(fromByteOffset: c * 32, as: SIMD8<Float>.self)
                    acc1 +=
                        SIMD8(repeating: user[c + 1])
                        * p.loadUnaligned(fromByteOffset: (c + 1) * 32, as: SIMD8<Float>.self)
                    c += 2
                }
                if c < k {
                    acc0 += SIMD8(repeating: user[c]) * p.loadUnaligned(fromByteOffset: c * 32, as: SIMD8<Float>.self)
                }
                acc0 += p.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                body(b << 3, acc0 + acc1)
                p += blockFloats * 4
            }
        }
    }

    /// ``scoreBlocks(user:_:)`` for four queries in one pass: each block row is loaded once and used
    /// by all four, so a catalog scan (memory-bandwidth bound beyond ~100K items) reads the items once
    /// per four users. Per query the arithmetic is exactly the single-query kernel's (same two
    /// accumulators, same order, no fused multiply-add), so scores are bit-identical to it.
    @inline(__always)
    public func scoreBlocks4(
        _ q0: UnsafePointer<Float>,
        _ q1: UnsafePointer<Float>,
        _ q2: UnsafePointer<Float>,
        _ q3: UnsafePointer<Float>,
        _ body: (Int, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) -> Void
    ) {
        let k = dimension
        let blocks = (count + 7) >> 3
        storage.withUnsafeBufferPointer { s in
            var p = UnsafeRawPointer(s.baseAddress!)
            for b in 0..<blocks {
                var a0 = SIMD8<Float>()
                var a1 = SIMD8<Float>()
                var a2 = SIMD8<Float>()
                var a3 = SIMD8<Float>()
                var b0 = SIMD8<Float>()
                var b1 = SIMD8<Float>()
                var b2 = SIMD8<Float>()
                var b3 = SIMD8<Float>()
                var c = 0
                while c + 1 < k {
                    let r = p.loadUnaligned(fromByteOffset: c * 32, as: SIMD8<Float>.self)
                    let t = p.loadUnaligned(fromByteOffset: (c + 1) * 32, as: SIMD8<Float>.self)
                    a0 += SIMD8(repeating: q0[c]) * r
                    b0 += SIMD8(repeating: q0[c + 1]) * t
                    a1 += SIMD8(repeating: q1[c]) * r
                    b1 += SIMD8(repeating: q1[c + 1]) * t
                    a2 += SIMD8(repeating: q2[c]) * r
                    b2 += SIMD8(repeating: q2[c + 1]) * t
                    a3 += SIMD8(repeating: q3[c]) * r
                    b3 += SIMD8(repeating: q3[c + 1]) * t
                    c += 2
                }
                if c < k {
                    let r = p.loadUnaligned(fromByteOffset: c * 32, as: SIMD8<Float>.self)
                    a0 += SIMD8(repeating: q0[c]) * r
                    a1 += SIMD8(repeating: q1[c]) * r
                    a2 += SIMD8(repeating: q2[c]) * r
                    a3 += SIMD8(repeating: q3[c]) * r
                }
                let bias = p.loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
                a0 += bias
                a1 += bias
                a2 += bias
                a3 += bias
                body(b << 3, a0 + b0, a1 + b1, a2 + b2, a3 + b3)
                p += blockFloats * 4
            }
        }
    }

    public var allocatedBytes: Int { storage.capacity * 4 }
}
