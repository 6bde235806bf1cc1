import Foundation
// `--snapshot-stall`: what the learner pays when a snapshot starts, for the item factor matrix (k=32)
// at several catalog sizes, after 10,000 events' worth of row writes (each event: its item + 4 sampled
// negatives, Zipf-skewed). Full: a copy-on-write snapshot (`let snap = live`) followed by the learner's
// next write, which copies the whole matrix — today's stall. Incremental: `FactorMatrixShadow.capture`,
// which copies only the changed rows. Thread CPU time, median of `repeats` runs.
import StreamRecCore

func snapshotStallRows(sizes: [Int], repeats: Int) -> [Row] {
    var rows: [Row] = []
    let events = 10_000
    for n in sizes {
        var rng = RandomSource(seed: 21)
        var live = FactorMatrix(dimension: 32, rows: n)
        let s = live.stride
        live.withUnsafeMutableBufferPointer { b in
            for r in 0..<n { for c in 0..<32 { b[r * s + c] = rng.nextGaussian() * 0.1 } }
        }
        var shadow = FactorMatrixShadow(of: &live)
        var full: [Double] = []
        var incremental: [Double] = []
        var copied = 0
        for _ in 0..<max(1, repeats) {
            // One snapshot interval of writes, as the SGD step marks them.
            for _ in 0..<(events * 5) {
                let r = rng.nextUnitDouble()
                let row = min(n - 1, Int(Double(n) * r * r))
                live.markChanged(row)
                live.withUnsafeMutableBufferPointer { b in b[row * s] += 1e-3 }
            }
            var t = cpuNow()
            copied = shadow.capture(from: &live)
            incremental.append(Double(cpuNow() - t) / 1e6)
            t = cpuNow()
            let snapshot = live  // what a copy-on-write snapshot holds
            live.withUnsafeMutableBufferPointer { b in b[0] += 1e-3 }  // the next SGD write copies it all
            full.append(Double(cpuNow() - t) / 1e6)
            // The snapshot must still hold the old buffer (else the write above copied nothing).
            precondition(snapshot.row(0)[0] != live.row(0)[0] && snapshot.row(1) == live.row(1))
        }
        let mb = Double(n * s * 4) / 1e6
        rows.append(
            Row(
                name:
                    "\(n) items × k=32 (\(String(format: "%.0f", mb)) MB): snapshot stall ms, full copy / incremental (\(copied) rows changed)",
                value: String(format: "%.2f / %.3f", median(full), median(incremental)),
                goal: "report"
            )
        )
    }
    return rows
}
