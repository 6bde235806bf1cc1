// streamrec-bench: repeatable micro/macro benchmarks of the learning core.
//
//   swift run -c release streamrec-bench [--quick] [--repeat N] [--features] [--catalog [--catalog-sizes a,b] [--probes p,q]]
//                                        [--batched [--catalog-sizes a,b]] [--snapshot-stall [--catalog-sizes a,b]]
//                                        [--encoding buffer|list [N]]
//
// Prints a markdown table (median of N runs) and the machine it ran on. Fixed seeds throughout.
import Foundation
import StreamRecCore

struct Row {
    var name: String
    var value: String
    var goal: String
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// This thread's CPU time (ns): latency without the time the scheduler gave other processes, which
/// dominates wall-clock p99 on a shared, overloaded machine. Both are reported.
func cpuNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func p50p99(_ xs: [Double]) -> String {
    let s = xs.sorted()
    return String(format: "%.3f / %.3f", s[s.count / 2], s[min(s.count - 1, s.count * 99 / 100)])
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let parts = s.split(separator: " ")
    return parts.count > 1 ? (Int(parts[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func machine() -> String {
    let cpu =
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    let mem = ProcessInfo.processInfo.physicalMemory / (1 << 30)
    return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(mem) GiB RAM, single-threaded runs"
}

let args = CommandLine.arguments
let quick = args.contains("--quick")
let repeats = args.firstIndex(of: "--repeat").flatMap { Int(args[$0 + 1]) } ?? (quick ? 1 : 3)
let scale = quick ? 10 : 1

/// Plain MF (the issue's goals are stated for it); the feature table measures the extras on top.
func baseConfig(items: Int) -> ModelConfig {
    var c = ModelConfig()
    c.sequenceContext = 0
    c.factors = 32
    c.negatives = 4
    c.maxItems = max(items, 1)
    return c
}

/// Synthetic (user, item) index stream with Zipf-ish popularity, generated up front.
func stream(events: Int, users: Int, items: Int, seed: UInt64) -> [(Int32, Int32)] {
    var rng = RandomSource(seed: seed)
    return (0..<events).map { _ in
        let u = Int32(rng.nextInt(below: users))
        let r = rng.nextUnitDouble()
        let i = Int32(min(items - 1, Int(Double(items) * r * r)))  // skewed towards low indices
        return (u, i)
    }
}

var rows: [Row] = []
/// `--catalog-only` runs just the catalog-scale rows (section 5).
let runCore =
    !args.contains("--catalog-only") && !args.contains("--random") && !args.contains("--batched")
    && !args.contains("--snapshot-stall") && !args.contains("--encoding")

// 1. Learn-only: pure SGD (model.learn on dense slots) and the full learner path (string ids, store).
if runCore {
    let events = 1_000_000 / scale
    let users = 100_000 / scale
    let items = 10_000
    let s = stream(events: events, users: users, items: items, seed: 1)
    var sgd: [Double] = []
    var full: [Double] = []
    let userIDs = (0..<users).map { "u\($0)" }
    let itemIDs = (0..<items).map { "i\($0)" }
    for _ in 0..<repeats {
        var m = MatrixFactorizationModel(config: baseConfig(items: items))
        m.ensureUser(Int32(users - 1))
        m.ensureItem(Int32(items - 1))
        var t = now()
        for (u, i) in s { try? m.learn(user: u, item: i, weight: 1) { _ in false } }
        sgd.append(Double(events) / (Double(now() - t) / 1e9))

        var l = try! OnlineLearner(config: baseConfig(items: items))
        t = now()
        for (n, (u, i)) in s.enumerated() {
            _ = try? l.learn(user: userIDs[Int(u)], item: itemIDs[Int(i)], timestamp: Int64(n), weight: 1)
        }
        full.append(Double(events) / (Double(now() - t) / 1e9))
    }
    rows.append(
        Row(
            name: "SGD updates/s (k=32, 4 BPR negatives, slots)",
            value: String(format: "%.0f", median(sgd)),
            goal: "≥ 1,000,000"
        )
    )
    rows.append(
        Row(
            name: "learner events/s (string ids + store + SGD)",
            value: String(format: "%.0f", median(full)),
            goal: "—"
        )
    )
}

// 2. Learn + top-10 refresh per event, 2,000-item catalog.
if runCore {
    let events = 500_000 / scale
    let users = 20_000
    let items = 2000
    let s = stream(events: events, users: users, items: items, seed: 2)
    let userIDs = (0..<users).map { "u\($0)" }
    let itemIDs = (0..<items).map { "i\($0)" }
    var rates: [Double] = []
    for _ in 0..<repeats {
        var l = try! OnlineLearner(config: baseConfig(items: items))
        var selector = RankingPipeline()
        var out = [ScoredIndex]()
        let t = now()
        for (n, (u, i)) in s.enumerated() {
            let r = try? l.learn(user: userIDs[Int(u)], item: itemIDs[Int(i)], timestamp: Int64(n), weight: 1)
            l.recommend(userSlot: r?.userSlot, k: 10, pipeline: &selector, into: &out)
        }
        rates.append(Double(events) / (Double(now() - t) / 1e9))
    }
    rows.append(
        Row(
            name: "learn + top-10 refresh events/s (2,000 items)",
            value: String(format: "%.0f", median(rates)),
            goal: "≥ 100,000"
        )
    )
}

// 2b. The same loop with each beyond-MF feature switched on alone (cost of the feature; `--features`).
if args.contains("--features") {
    let events = 500_000 / scale
    let users = 20_000
    let items = 2000
    let s = stream(events: events, users: users, items: items, seed: 2)
    let userIDs = (0..<users).map { "u\($0)" }
    let itemIDs = (0..<items).map { "i\($0)" }
    let features: [(String, (inout ModelConfig) -> Void)] = [
        ("ε-greedy 0.1", { $0.explorationEpsilon = 0.1 }),
        ("uncertainty bonus 0.5", { $0.uncertaintyBonus = 0.5 }),
        ("MMR λ 0.7, M 50", { $0.diversityLambda = 0.7 }),
        ("sequence context 3", { $0.sequenceContext = 3 }),
        ("cold-start users < 10", { $0.coldStartUserEvents = 10 }),
        ("popularity half-life 1h", { $0.popularityHalfLife = 3_600_000 }),
        ("factor half-life 12h", { $0.factorDecayHalfLife = 43_200_000 }),
        (
            "user + item TTL 6h",
            {
                $0.userTTL = 21_600_000
                $0.itemTTL = 21_600_000
            }
        ),
    ]
    for (name, configure) in features {
        var rates: [Double] = []
        for _ in 0..<repeats {
            var c = baseConfig(items: items)
            configure(&c)
            var l = try! OnlineLearner(config: c)
            var selector = RankingPipeline()
            var out = [ScoredIndex]()
            let t = now()
            for (n, (u, i)) in s.enumerated() {
                // 1 s of event time per event, so time-based features see hours of activity.
                let r = try? l.learn(
                    user: userIDs[Int(u)],
                    item: itemIDs[Int(i)],
                    timestamp: Int64(n) * 1000,
                    weight: 1
                )
                l.recommend(userSlot: r?.userSlot, k: 10, pipeline: &selector, into: &out)
            }
            rates.append(Double(events) / (Double(now() - t) / 1e9))
        }
        rows.append(
            Row(name: "learn + top-10 events/s, \(name)", value: String(format: "%.0f", median(rates)), goal: "report")
        )
    }
}

// 3. Top-10 latency over 100,000 items × k=32.
if runCore {
    let items = 100_000
    let users = 1000
    var l = try! OnlineLearner(config: baseConfig(items: items))
    var rng = RandomSource(seed: 3)
    for i in 0..<items {
        _ = try? l.learn(user: "u\(rng.nextInt(below: users))", item: "i\(i)", timestamp: 0, weight: 1)
    }
    var selector = RankingPipeline()
    var out = [ScoredIndex]()
    var lat: [Double] = []
    let calls = 2000 / scale
    for c in 0..<calls {
        let t = now()
        l.recommend(userSlot: Int32(c % users), k: 10, pipeline: &selector, into: &out)
        lat.append(Double(now() - t) / 1e6)
    }
    lat.sort()
    rows.append(
        Row(
            name: "top-10 latency p50, 100k items × k=32 (ms)",
            value: String(format: "%.3f", lat[lat.count / 2]),
            goal: "≤ 0.5"
        )
    )
    rows.append(
        Row(
            name: "top-10 latency p99, 100k items × k=32 (ms)",
            value: String(format: "%.3f", lat[lat.count * 99 / 100]),
            goal: "≤ 1"
        )
    )
}

// 4. Memory per million users (history 50) and per million items, from RSS deltas.
if runCore {
    let n = 1_000_000 / scale
    var c = baseConfig(items: 10)
    c.historyLength = 50
    c.maxUsers = n
    let before = residentBytes()
    var l = try! OnlineLearner(config: c)
    for u in 0..<n { _ = try? l.learn(user: "user-\(u)", item: "i\(u % 10)", timestamp: Int64(u), weight: 1) }
    let perUsers = Double(residentBytes() - before) * Double(1_000_000 / n)
    let accounted = Double(l.allocatedBytes) * Double(1_000_000 / n)
    rows.append(
        Row(
            name: "memory per 1M users, history 50 (RSS MiB / accounted MiB)",
            value: String(format: "%.0f / %.0f", perUsers / 1048576, accounted / 1048576),
            goal: "report"
        )
    )

    var ci = baseConfig(items: n)
    ci.maxUsers = 10
    let before2 = residentBytes()
    var li = try! OnlineLearner(config: ci)
    for i in 0..<n { _ = try? li.learn(user: "u\(i % 10)", item: "item-\(i)", timestamp: Int64(i), weight: 1) }
    let perItems = Double(residentBytes() - before2) * Double(1_000_000 / n)
    rows.append(
        Row(
            name: "memory per 1M items, k=32 (RSS MiB / accounted MiB)",
            value: String(
                format: "%.0f / %.0f",
                perItems / 1048576,
                Double(li.allocatedBytes) * Double(1_000_000 / n) / 1048576
            ),
            goal: "report"
        )
    )
    withExtendedLifetime((l, li)) {}
}

// 5. Catalog scale (`--catalog [--catalog-sizes 10000,100000,1000000]`): top-10 exact vs approximate
// (IVF item index) over a learned model. The catalog is registered first (one event per item, so all
// n items exist), then a topic-structured synthetic log of 2n events (capped at 2M) trains it.
if args.contains("--catalog") || args.contains("--catalog-only") {
    let sizes =
        args.firstIndex(of: "--catalog-sizes").map { args[$0 + 1].split(separator: ",").compactMap { Int($0) } }
        ?? [10_000, 100_000, 1_000_000]
    let probeSweep =
        args.firstIndex(of: "--probes").map { args[$0 + 1].split(separator: ",").compactMap { Int($0) } }
        ?? [ItemIndex.defaultProbes]
    for n in sizes {
        var c = baseConfig(items: n)
        c.sequenceContext = 3  // the default model
        var l = try! OnlineLearner(config: c)
        let log = try! SyntheticLogGenerator.generate(
            SyntheticLogConfig(
                users: 100_000,
                items: n,
                events: min(2 * n, 2_000_000),
                topics: 64,
                seed: 9
            )
        )
        var t = now()
        for i in 0..<n {
            _ = try? l.learn(user: "c\(i % 1000)", item: SyntheticLogGenerator.itemID(i), timestamp: 0, weight: 1)
        }
        for e in log { _ = try? l.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1) }
        let learnSeconds = Double(now() - t) / 1e9
        t = now()
        l.setRanking(.approximate)
        let buildMs = Double(now() - t) / 1e6
        let lists = l.model.itemIndex?.listCount ?? 0
        rows.append(
            Row(
                name: "\(n) items: learn \(n + log.count) events (s) / index build, \(lists) lists (ms)",
                value: String(format: "%.1f / %.0f", learnSeconds, buildMs),
                goal: "report"
            )
        )
        let queries = 300 / (quick ? 3 : 1)
        let userSlots = (0..<queries).map { Int32(1000 + ($0 * 7919) % max(1, l.users.slotCount - 1000)) }
        var selector = RankingPipeline()
        var exact = [[ScoredIndex]](repeating: [], count: queries)
        var lat: [Double] = []
        var cpu: [Double] = []
        for (q, u) in userSlots.enumerated() {
            let t0 = now()
            let c0 = cpuNow()
            l.recommend(userSlot: u, k: 10, pipeline: &selector, into: &exact[q], exact: true)
            cpu.append(Double(cpuNow() - c0) / 1e6)
            lat.append(Double(now() - t0) / 1e6)
        }
        rows.append(
            Row(
                name: "\(n) items: top-10 exact: wall p50 / p99; CPU p50 / p99 (ms)",
                value: p50p99(lat) + "; " + p50p99(cpu),
                goal: "report"
            )
        )
        for probes in probeSweep {
            l.setRanking(.approximate, probes: probes)
            var out = [ScoredIndex]()
            var alat: [Double] = []
            var acpu: [Double] = []
            var overlap = 0.0
            for (q, u) in userSlots.enumerated() {
                let t0 = now()
                let c0 = cpuNow()
                l.recommend(userSlot: u, k: 10, pipeline: &selector, into: &out)
                acpu.append(Double(cpuNow() - c0) / 1e6)
                alat.append(Double(now() - t0) / 1e6)
                overlap += RankingPipeline.overlap(out, exact[q])
            }
            rows.append(
                Row(
                    name:
                        "\(n) items: top-10 approximate, \(probes) probes: wall p50 / p99; CPU p50 / p99 (ms); overlap@10",
                    value: p50p99(alat) + "; " + p50p99(acpu) + String(format: "; %.3f", overlap / Double(queries)),
                    goal: n >= 1_000_000 ? "p99 ≤ 1, ≥ 0.95" : "report"
                )
            )
        }
    }
}

// 6. The same index over random Gaussian vectors (`--random`), FAISS's anchor setting (d=32, no bias,
// 300 queries): the hard case for IVF, since random vectors don't cluster.
if args.contains("--random") {
    let sizes =
        args.firstIndex(of: "--catalog-sizes").map { args[$0 + 1].split(separator: ",").compactMap { Int($0) } }
        ?? [100_000, 1_000_000]
    let probeSweep =
        args.firstIndex(of: "--probes").map { args[$0 + 1].split(separator: ",").compactMap { Int($0) } }
        ?? [ItemIndex.defaultProbes]
    for n in sizes {
        var rng = RandomSource(seed: 0)
        let factors = FactorMatrix(dimension: 32, rows: n, unpadded: (0..<(n * 32)).map { _ in rng.nextGaussian() })
        var all = BlockedItemMatrix(dimension: 32)
        factors.withUnsafeBufferPointer { V in
            for i in 0..<n {
                all.appendItem()
                all.update(item: i, factors: V.baseAddress! + i * factors.stride, bias: 0)
            }
        }
        var index = ItemIndex(dimension: 32)
        let t = now()
        index.rebuild(factors: factors, biases: nil)
        let buildMs = Double(now() - t) / 1e6
        let queries = (0..<300).map { _ in (0..<32).map { _ in rng.nextGaussian() } }
        var selector = TopKSelector(k: 10)
        var exact = [[ScoredIndex]]()
        var lat = [Double]()
        for q in queries {
            let t0 = now()
            selector.reset(k: 10)
            q.withUnsafeBufferPointer { Q in
                all.scoreBlocks(user: Q.baseAddress!) { first, scores in
                    for lane in 0..<min(8, n - first) {
                        selector.offer(ScoredIndex(index: Int32(first + lane), score: scores[lane]))
                    }
                }
            }
            exact.append(selector.sorted())
            lat.append(Double(now() - t0) / 1e6)
        }
        lat.sort()
        rows.append(
            Row(
                name: "random d=32, \(n) items: exact p50 / p99 (ms); index build \(index.listCount) lists (ms)",
                value: String(format: "%.3f / %.3f; %.0f", lat[150], lat[297], buildMs),
                goal: "report"
            )
        )
        for probes in probeSweep {
            var order = [ScoredIndex]()
            var alat = [Double]()
            var acpu = [Double]()
            var overlap = 0.0
            for (qi, q) in queries.enumerated() {
                let t0 = now()
                let c0 = cpuNow()
                selector.reset(k: 10)
                q.withUnsafeBufferPointer { Q in
                    index.forEachProbedBlock(query: Q.baseAddress!, probes: probes, order: &order) {
                        members,
                        first,
                        scores in
                        for lane in 0..<min(8, members.count - first) {
                            selector.offer(ScoredIndex(index: members[first + lane], score: scores[lane]))
                        }
                    }
                }
                let got = selector.sorted()
                acpu.append(Double(cpuNow() - c0) / 1e6)
                alat.append(Double(now() - t0) / 1e6)
                overlap += RankingPipeline.overlap(got, exact[qi])
            }
            rows.append(
                Row(
                    name:
                        "random d=32, \(n) items: approximate, \(probes) probes: wall p50 / p99; CPU p50 / p99 (ms); overlap@10",
                    value: p50p99(alat) + "; " + p50p99(acpu) + String(format: "; %.3f", overlap / 300),
                    goal: "report"
                )
            )
        }
    }
}

// 7. Batched exact scoring (`--batched [--catalog-sizes a,b]`): BatchedScoringBench.swift.
if args.contains("--batched") {
    let sizes =
        args.firstIndex(of: "--catalog-sizes").map { args[$0 + 1].split(separator: ",").compactMap { Int($0) } }
        ?? [10_000, 100_000, 1_000_000]
    rows += batchedScoringRows(sizes: sizes, repeats: repeats)
}

// 8. Snapshot stall (`--snapshot-stall [--catalog-sizes a,b]`): SnapshotStallBench.swift.
if args.contains("--snapshot-stall") {
    let sizes =
        args.firstIndex(of: "--catalog-sizes").map { args[$0 + 1].split(separator: ",").compactMap { Int($0) } }
        ?? [10_000, 100_000, 1_000_000]
    rows += snapshotStallRows(sizes: sizes, repeats: repeats)
}

// 9. List encoding (`--encoding buffer|list [N]`): EncodingBench.swift.
if let at = args.firstIndex(of: "--encoding") {
    rows += try encodingRows(path: args[at + 1], lists: args.count > at + 2 ? Int(args[at + 2]) ?? 100_000 : 100_000)
}

print("Machine: \(machine())")
print("Runs: median of \(repeats)\(quick ? " (quick mode: 1/10 sizes)" : "")\n")
let w0 = max(rows.map(\.name.count).max()!, 6)
let w1 = max(rows.map(\.value.count).max()!, 6)
print(
    "| " + "benchmark".padding(toLength: w0, withPad: " ", startingAt: 0) + " | "
        + "result".padding(toLength: w1, withPad: " ", startingAt: 0) + " | goal |"
)
print("|" + String(repeating: "-", count: w0 + 2) + "|" + String(repeating: "-", count: w1 + 1) + ":|------|")
for r in rows {
    print(
        "| " + r.name.padding(toLength: w0, withPad: " ", startingAt: 0) + " | "
            + String(repeating: " ", count: w1 - r.value.count) + r.value + " | \(r.goal) |"
    )
}
