import Foundation
// `--batched`: exact top-10 over a blocked catalog, one query per pass (`scoreBlocks`) vs four queries
// per pass (`scoreBlocks4`), at several catalog sizes.
// Random Gaussian factors (d=32) and biases; 64 queries; thread CPU time, median of `repeats` runs.
// Also the kernels' raw FLOP rate (scores consumed by a running sum, no selection), to set beside
// OpenBLAS sgemm at the same shapes (`bench/peers/sgemm_rate.py`).
import StreamRecCore

/// The learner's block filter (compare-and-select max tree), then lane offers — without exclusions.
@inline(__always)
func offerLanes(_ selector: inout TopKSelector, first: Int, scores: SIMD8<Float>, count n: Int) {
    let a = scores.lowHalf
    let b = scores.highHalf
    let m4 = a.replacing(with: b, where: b .> a)
    let c = m4.lowHalf
    let d = m4.highHalf
    let m2 = c.replacing(with: d, where: d .> c)
    guard (m2[0] > m2[1] ? m2[0] : m2[1]) >= selector.threshold else { return }
    for lane in 0..<min(8, n - first) { selector.offer(ScoredIndex(index: Int32(first + lane), score: scores[lane])) }
}

func batchedScoringRows(sizes: [Int], repeats: Int) -> [Row] {
    var rows: [Row] = []
    let d = 32
    let queryCount = 64
    for n in sizes {
        var rng = RandomSource(seed: 11)
        var items = BlockedItemMatrix(dimension: d)
        var row = [Float](repeating: 0, count: d)
        for i in 0..<n {
            items.appendItem()
            for c in 0..<d { row[c] = rng.nextGaussian() }
            row.withUnsafeBufferPointer {
                items.update(item: i, factors: $0.baseAddress!, bias: rng.nextGaussian() * 0.1)
            }
        }
        let queries: [[Float]] = (0..<queryCount).map { _ in (0..<d).map { _ in rng.nextGaussian() } }
        // One contiguous copy so the query pointers stay valid for the whole run.
        let flat = UnsafeMutablePointer<Float>.allocate(capacity: queryCount * d)
        defer { flat.deallocate() }
        for (j, qv) in queries.enumerated() { for c in 0..<d { flat[j * d + c] = qv[c] } }
        func query(_ j: Int) -> UnsafePointer<Float> { UnsafePointer(flat + j * d) }
        var selectors = (0..<4).map { _ in TopKSelector(k: 10) }
        var single: [[ScoredIndex]] = Array(repeating: [], count: queryCount)
        var batched: [[ScoredIndex]] = Array(repeating: [], count: queryCount)
        var perUser: [Double] = []
        var perFour: [Double] = []
        var kernel1: [Double] = []
        var kernel4: [Double] = []
        var sink = SIMD8<Float>()
        for _ in 0..<max(1, repeats) {
            var t = cpuNow()
            for j in 0..<queryCount {
                selectors[0].reset(k: 10)
                items.scoreBlocks(user: query(j)) { first, s in
                    offerLanes(&selectors[0], first: first, scores: s, count: n)
                }
                selectors[0].sorted(into: &single[j])
            }
            perUser.append(Double(cpuNow() - t) / 1e3 / Double(queryCount))
            t = cpuNow()
            for g in stride(from: 0, to: queryCount, by: 4) {
                for l in 0..<4 { selectors[l].reset(k: 10) }
                items.scoreBlocks4(query(g), query(g + 1), query(g + 2), query(g + 3)) { first, s0, s1, s2, s3 in
                    offerLanes(&selectors[0], first: first, scores: s0, count: n)
                    offerLanes(&selectors[1], first: first, scores: s1, count: n)
                    offerLanes(&selectors[2], first: first, scores: s2, count: n)
                    offerLanes(&selectors[3], first: first, scores: s3, count: n)
                }
                for l in 0..<4 { selectors[l].sorted(into: &batched[g + l]) }
            }
            perFour.append(Double(cpuNow() - t) / 1e3 / Double(queryCount))
            t = cpuNow()
            for j in 0..<queryCount { items.scoreBlocks(user: query(j)) { _, s in sink += s } }
            kernel1.append(Double(cpuNow() - t))
            t = cpuNow()
            for g in stride(from: 0, to: queryCount, by: 4) {
                items.scoreBlocks4(query(g), query(g + 1), query(g + 2), query(g + 3)) { _, s0, s1, s2, s3 in
                    sink += s0 + s1 + s2 + s3
                }
            }
            kernel4.append(Double(cpuNow() - t))
        }
        let identical = single == batched
        // Multiply-adds per query: d factors + the bias add, over n items (lanes of the last block included).
        let flops = 2.0 * Double(d + 1) * Double((n + 7) / 8 * 8) * Double(queryCount)
        rows.append(
            Row(
                name: "\(n) items, d=32: exact top-10 CPU µs/query, per-user / batched ×4 (lists identical)",
                value: String(format: "%.1f / %.1f (%@)", median(perUser), median(perFour), identical ? "yes" : "NO"),
                goal: "report"
            )
        )
        rows.append(
            Row(
                name: "\(n) items, d=32: scoring kernel GFLOP/s, per-user / batched ×4 (no selection)",
                value: String(format: "%.2f / %.2f", flops / median(kernel1), flops / median(kernel4))
                    + (sink[0] == .infinity ? "!" : ""),
                goal: "report"
            )
        )
    }
    return rows
}
