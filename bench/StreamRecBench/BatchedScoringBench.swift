import Foundation
// `--batched`: exact top-10 over a blocked catalog, one query per pass (`scoreBlocks`) vs four queries
// per pass (`scoreBlocks4`, the kernel behind `OnlineLearner.rankBatch`), at several catalog sizes.
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

/// `--batched-learner`: the same comparison through the learner with the default model (k=32, sequence
/// context 3, item-neighbour blend on), exact ranking: 64 known users ranked one by one with
/// `recommend(exact: true)` vs together with `rankBatch`. The learner sees one event per item, then
/// 50,000 Zipf-skewed events from 2,000 users.
func batchedLearnerRows(sizes: [Int], repeats: Int) throws -> [Row] {
    var rows: [Row] = []
    for n in sizes {
        var c = ModelConfig()
        c.maxItems = max(n, 1)
        var l = try OnlineLearner(config: c)
        var rng = RandomSource(seed: 31)
        var t: Int64 = 0
        for i in 0..<n {
            t += 1
            _ = try l.learn(user: "u\(i % 2_000)", item: "i\(i)", timestamp: t, weight: 1)
        }
        for _ in 0..<50_000 {
            let r = rng.nextUnitDouble()
            t += 1
            _ = try l.learn(
                user: "u\(rng.nextInt(below: 2_000))",
                item: "i\(min(n - 1, Int(Double(n) * r * r)))",
                timestamp: t,
                weight: 1
            )
        }
        let slots: [Int32?] = (0..<64).map { Int32(($0 * 31) % 2_000) }
        var selector = TopKSelector(k: 10)
        var single: [[ScoredIndex]] = Array(repeating: [], count: 64)
        var selectors: [TopKSelector] = []
        var batched: [[ScoredIndex]] = []
        var perUser: [Double] = []
        var together: [Double] = []
        for _ in 0..<max(1, repeats) {
            var c0 = cpuNow()
            for (q, u) in slots.enumerated() {
                l.recommend(userSlot: u, k: 10, selector: &selector, into: &single[q], exact: true)
            }
            perUser.append(Double(cpuNow() - c0) / 1e3 / 64)
            c0 = cpuNow()
            l.rankBatch(userSlots: slots, k: 10, selectors: &selectors, into: &batched)
            together.append(Double(cpuNow() - c0) / 1e3 / 64)
        }
        rows.append(
            Row(
                name: "\(n) items, default model, exact top-10 CPU µs/user: recommend / rankBatch (lists identical)",
                value: String(
                    format: "%.1f / %.1f (%@)",
                    median(perUser),
                    median(together),
                    single == batched ? "yes" : "NO"
                ),
                goal: "report"
            )
        )
    }
    return rows
}
