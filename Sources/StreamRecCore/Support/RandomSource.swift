/// A small, fast, seedable PRNG (xoshiro256**) whose whole state is four words.
///
/// Determinism is a product requirement: the model's RNG state is written into every snapshot, so a
/// learner resumed from a snapshot draws exactly the negatives an uninterrupted run would have drawn.
/// `SystemRandomNumberGenerator` can't be captured, hence this type.
public struct RandomSource: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds via SplitMix64, as recommended by the xoshiro authors, so nearby seeds give unrelated streams.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Restores a generator from a captured state (see ``state``). An all-zero state is invalid for
    /// xoshiro and is rejected by returning nil.
    public init?(state: (UInt64, UInt64, UInt64, UInt64)) {
        guard state.0 | state.1 | state.2 | state.3 != 0 else { return nil }
        self.state = state
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    /// Uniform integer in `0..<bound` (Lemire's multiply-shift; the tiny bias is irrelevant here and
    /// avoiding the rejection loop keeps the number of draws per call fixed, which keeps runs reproducible
    /// across refactors).
    @inline(__always)
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let (high, _) = next().multipliedFullWidth(by: UInt64(bound))
        return Int(high)
    }

    /// Uniform Float in [0, 1).
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// Uniform Double in [0, 1).
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * (1.0 / Double(UInt64(1) << 53))
    }

    /// Standard normal via Box–Muller (uses two draws, returns one value: simple and reproducible).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUnitDouble(), 1e-300)
        let u2 = nextUnitDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    public static func == (lhs: RandomSource, rhs: RandomSource) -> Bool {
        lhs.state == rhs.state
    }
}

@inline(__always)
private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
#endif
