// streamrec-bench: repeatable micro/macro benchmarks of the learning core.
//
//   swift run -c release streamrec-bench [--quick] [--repeat N] [--features]
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

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let parts = s.split(separator: " ")
    return parts.count > 1 ? (Int(parts[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func machine() -> String {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
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

// 1. Learn-only: pure SGD (model.learn on dense slots) and the full learner path (string ids, store).
do {
    let events = 1_000_000 / scale, users = 100_000 / scale, items = 10_000
    let s = stream(events: events, users: users, items: items, seed: 1)
    var sgd: [Double] = [], full: [Double] = []
    let userIDs = (0..<users).map { "u\($0)" }, itemIDs = (0..<items).map { "i\($0)" }
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
    rows.append(Row(name: "SGD updates/s (k=32, 4 BPR negatives, slots)", value: String(format: "%.0f", median(sgd)),
                    goal: "≥ 1,000,000"))
    rows.append(Row(name: "learner events/s (string ids + store + SGD)", value: String(format: "%.0f", median(full)),
                    goal: "—"))
}

// 2. Learn + top-10 refresh per event, 2,000-item catalog.
do {
    let events = 500_000 / scale, users = 20_000, items = 2000
    let s = stream(events: events, users: users, items: items, seed: 2)
    let userIDs = (0..<users).map { "u\($0)" }, itemIDs = (0..<items).map { "i\($0)" }
    var rates: [Double] = []
    for _ in 0..<repeats {
        var l = try! OnlineLearner(config: baseConfig(items: items))
        var selector = TopKSelector(k: 10)
        var out = [ScoredIndex]()
        let t = now()
        for (n, (u, i)) in s.enumerated() {
            let r = try? l.learn(user: userIDs[Int(u)], item: itemIDs[Int(i)], timestamp: Int64(n), weight: 1)
            l.recommend(userSlot: r?.userSlot, k: 10, selector: &selector, into: &out)
        }
        rates.append(Double(events) / (Double(now() - t) / 1e9))
    }
    rows.append(Row(name: "learn + top-10 refresh events/s (2,000 items)", value: String(format: "%.0f", median(rates)),
                    goal: "≥ 100,000"))
}

// 2b. The same loop with each beyond-MF feature switched on alone (cost of the feature; `--features`).
if args.contains("--features") {
    let events = 500_000 / scale, users = 20_000, items = 2000
    let s = stream(events: events, users: users, items: items, seed: 2)
    let userIDs = (0..<users).map { "u\($0)" }, itemIDs = (0..<items).map { "i\($0)" }
    let features: [(String, (inout ModelConfig) -> Void)] = [
        ("ε-greedy 0.1", { $0.explorationEpsilon = 0.1 }),
        ("uncertainty bonus 0.5", { $0.uncertaintyBonus = 0.5 }),
        ("MMR λ 0.7, M 50", { $0.diversityLambda = 0.7 }),
        ("sequence context 3", { $0.sequenceContext = 3 }),
        ("cold-start users < 10", { $0.coldStartUserEvents = 10 }),
        ("popularity half-life 1h", { $0.popularityHalfLife = 3_600_000 }),
        ("factor half-life 12h", { $0.factorDecayHalfLife = 43_200_000 }),
        ("user + item TTL 6h", { $0.userTTL = 21_600_000; $0.itemTTL = 21_600_000 }),
    ]
    for (name, configure) in features {
        var rates: [Double] = []
        for _ in 0..<repeats {
            var c = baseConfig(items: items)
            configure(&c)
            var l = try! OnlineLearner(config: c)
            var selector = TopKSelector(k: 10)
            var out = [ScoredIndex]()
            let t = now()
            for (n, (u, i)) in s.enumerated() {
                // 1 s of event time per event, so time-based features see hours of activity.
                let r = try? l.learn(user: userIDs[Int(u)], item: itemIDs[Int(i)], timestamp: Int64(n) * 1000, weight: 1)
                l.recommend(userSlot: r?.userSlot, k: 10, selector: &selector, into: &out)
            }
            rates.append(Double(events) / (Double(now() - t) / 1e9))
        }
        rows.append(Row(name: "learn + top-10 events/s, \(name)", value: String(format: "%.0f", median(rates)), goal: "report"))
    }
}

// 3. Top-10 latency over 100,000 items × k=32.
do {
    let items = 100_000, users = 1000
    var l = try! OnlineLearner(config: baseConfig(items: items))
    var rng = RandomSource(seed: 3)
    for i in 0..<items { _ = try? l.learn(user: "u\(rng.nextInt(below: users))", item: "i\(i)", timestamp: 0, weight: 1) }
    var selector = TopKSelector(k: 10)
    var out = [ScoredIndex]()
    var lat: [Double] = []
    let calls = 2000 / scale
    for c in 0..<calls {
        let t = now()
        l.recommend(userSlot: Int32(c % users), k: 10, selector: &selector, into: &out)
        lat.append(Double(now() - t) / 1e6)
    }
    lat.sort()
    rows.append(Row(name: "top-10 latency p50, 100k items × k=32 (ms)", value: String(format: "%.3f", lat[lat.count / 2]),
                    goal: "≤ 0.5"))
    rows.append(Row(name: "top-10 latency p99, 100k items × k=32 (ms)", value: String(format: "%.3f", lat[lat.count * 99 / 100]),
                    goal: "≤ 1"))
}

// 4. Memory per million users (history 50) and per million items, from RSS deltas.
do {
    let n = 1_000_000 / scale
    var c = baseConfig(items: 10)
    c.historyLength = 50
    c.maxUsers = n
    let before = residentBytes()
    var l = try! OnlineLearner(config: c)
    for u in 0..<n { _ = try? l.learn(user: "user-\(u)", item: "i\(u % 10)", timestamp: Int64(u), weight: 1) }
    let perUsers = Double(residentBytes() - before) * Double(1_000_000 / n)
    let accounted = Double(l.allocatedBytes) * Double(1_000_000 / n)
    rows.append(Row(name: "memory per 1M users, history 50 (RSS MiB / accounted MiB)",
                    value: String(format: "%.0f / %.0f", perUsers / 1048576, accounted / 1048576), goal: "report"))

    var ci = baseConfig(items: n)
    ci.maxUsers = 10
    let before2 = residentBytes()
    var li = try! OnlineLearner(config: ci)
    for i in 0..<n { _ = try? li.learn(user: "u\(i % 10)", item: "item-\(i)", timestamp: Int64(i), weight: 1) }
    let perItems = Double(residentBytes() - before2) * Double(1_000_000 / n)
    rows.append(Row(name: "memory per 1M items, k=32 (RSS MiB / accounted MiB)",
                    value: String(format: "%.0f / %.0f", perItems / 1048576,
                                  Double(li.allocatedBytes) * Double(1_000_000 / n) / 1048576), goal: "report"))
    withExtendedLifetime((l, li)) {}
}

print("Machine: \(machine())")
print("Runs: median of \(repeats)\(quick ? " (quick mode: 1/10 sizes)" : "")\n")
let w0 = max(rows.map(\.name.count).max()!, 6), w1 = max(rows.map(\.value.count).max()!, 6)
print("| " + "benchmark".padding(toLength: w0, withPad: " ", startingAt: 0) + " | " + "result".padding(toLength: w1, withPad: " ", startingAt: 0) + " | goal |")
print("|" + String(repeating: "-", count: w0 + 2) + "|" + String(repeating: "-", count: w1 + 1) + ":|------|")
for r in rows {
    print("| " + r.name.padding(toLength: w0, withPad: " ", startingAt: 0) + " | "
          + String(repeating: " ", count: w1 - r.value.count) + r.value + " | \(r.goal) |")
}
