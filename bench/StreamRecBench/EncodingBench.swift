import Foundation
// `--encoding buffer|list [N]`: encode one ranked top-10 N times, either straight into a reused byte
// buffer (`OnlineLearner.appendRecommendationJSON`) or by building a `RecommendationList` and calling
// `jsonBytes()` (the older serve path). One path per run, so a malloc-counting LD_PRELOAD shim
// run at two N gives allocations per list (bench/README.md §1c).
import StreamRecCore

func encodingRows(path: String, lists: Int) throws -> [Row] {
    var c = ModelConfig()
    c.factors = 32
    var l = try OnlineLearner(config: c)
    var rng = RandomSource(seed: 8)
    for t in 0..<20_000 {
        _ = try l.learn(
            user: "user-\(rng.nextInt(below: 500))",
            item: "item-\(rng.nextInt(below: 2_000))",
            timestamp: Int64(t),
            weight: 1
        )
    }
    var selector = RankingPipeline()
    var ranked: [ScoredIndex] = []
    let slot = l.users.index(of: "user-7")
    l.recommend(userSlot: slot, k: 10, pipeline: &selector, into: &ranked)
    let source = SourceOffset(topic: "events", partition: 0, offset: 1_234_567)
    let version = "bench-version"
    var buffer: [UInt8] = []
    var bytes = 0
    buffer.reserveCapacity(1024)
    let t = cpuNow()
    for n in 0..<lists {
        if path == "buffer" {
            buffer.removeAll(keepingCapacity: true)
            l.appendRecommendationJSON(
                user: "user-7",
                userSlot: slot,
                ranked: ranked,
                timestamp: 1_700_000_000_000 + Int64(n),
                sourceOffset: source,
                modelVersion: version,
                to: &buffer
            )
            bytes &+= buffer.count
        } else {
            let list = RecommendationList(
                user: "user-7",
                items: ranked.compactMap { r in l.items.id(at: r.index).map { ScoredItem(item: $0, score: r.score) } },
                modelVersion: version,
                timestamp: 1_700_000_000_000 + Int64(n),
                sourceOffset: source
            )
            bytes &+= list.jsonBytes().count
        }
    }
    let micros = Double(cpuNow() - t) / 1e3 / Double(max(1, lists))
    return [
        Row(
            name:
                "encode a top-10 list (\(path == "buffer" ? "reused buffer, from ranked slots" : "RecommendationList + jsonBytes()")), CPU µs/list (\(bytes / max(1, lists)) B)",
            value: String(format: "%.3f", micros),
            goal: "report"
        )
    ]
}
