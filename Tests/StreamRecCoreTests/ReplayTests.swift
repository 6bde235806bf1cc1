import Foundation
import Testing

@testable import StreamRecCore

@Suite("Prequential replay")
struct ReplayTests {
    static func plantedLog(events: Int = 12_000, seed: UInt64 = 3) throws -> [Event] {
        var c = SyntheticLogConfig()
        c.users = 300
        c.items = 300
        c.events = events
        c.topics = 12
        c.seed = seed
        return try SyntheticLogGenerator.generate(c)
    }

    func config(_ ranker: ModelConfig.Ranker = .mf) -> ModelConfig {
        var c = ModelConfig()
        c.ranker = ranker
        c.factors = 16
        return c
    }

    func tempDir() -> String {
        NSTemporaryDirectory() + "streamrec-replay-\(UUID().uuidString)"
    }

    @Test("MF clearly beats popularity, and popularity beats random, on the planted-structure log")
    func mfBeatsBaselines() throws {
        let events = try Self.plantedLog()
        var options = ReplayOptions()
        options.measureDiversity = false
        var recall: [ModelConfig.Ranker: Double] = [:]
        for ranker in ModelConfig.Ranker.allCases {
            var session = try ReplaySession(config: config(ranker), options: options)
            let report = try session.run(events: events)
            #expect(report.consumedEvents == Int64(events.count))
            #expect(report.scoredEvents > 0 && report.scoredEvents + report.repeatEventsSkipped == Int64(events.count))
            recall[ranker] = report.recall
        }
        let mf = try #require(recall[.mf])
        let pop = try #require(recall[.popularity])
        let rnd = try #require(recall[.random])
        #expect(mf > pop * 1.3, "mf \(mf) vs popularity \(pop)")
        #expect(pop > rnd * 1.5, "popularity \(pop) vs random \(rnd)")
    }

    @Test("a replay interrupted at event N and resumed from its snapshot ends bit-identical")
    func interruptedResume() throws {
        let events = try Self.plantedLog(events: 3000)
        var options = ReplayOptions()
        options.windowSize = 500
        var full = try ReplaySession(config: config(), options: options)
        let fullReport = try full.run(events: events)

        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SnapshotStore(directory: dir)
        var interrupted = options
        interrupted.snapshotEvery = 400
        interrupted.stopAfter = 1234  // "crash" between snapshots: work after event 1200 is lost
        var first = try ReplaySession(config: config(), options: interrupted)
        _ = try first.run(events: events, snapshots: store)
        let loaded = try #require(try store.loadNewestGood(expectedConfig: config()))
        #expect(loaded.snapshot.position.eventsConsumed == 1200)

        var resumedOptions = options
        resumedOptions.snapshotEvery = 400
        var resumed = try ReplaySession(resuming: loaded.snapshot, options: resumedOptions)
        let resumedReport = try resumed.run(events: events, snapshots: store)
        #expect(resumed.learner == full.learner)
        #expect(resumed.evaluator == full.evaluator)
        #expect(resumedReport.recall == fullReport.recall && resumedReport.windows == fullReport.windows)
        #expect(resumedReport.resumedFrom == 1200)
    }

    @Test("warm-up events train without being scored")
    func warmup() throws {
        let events = try Self.plantedLog(events: 2000)
        var options = ReplayOptions()
        options.warmupFraction = 0.5
        var session = try ReplaySession(config: config(.popularity), options: options)
        let report = try session.run(events: events)
        #expect(report.warmupEvents == 1000)
        #expect(report.scoredEvents + report.repeatEventsSkipped == 1000)
        #expect(session.learner.counters.events == 2000)
    }

    @Test("metrics follow their definitions on a hand-built case")
    func metricDefinitions() throws {
        var learner = try OnlineLearner(config: config(.popularity))
        for (u, i) in [("a", "x"), ("b", "x"), ("c", "y")] {
            try learner.learn(user: u, item: i, timestamp: 0, weight: 1)
        }
        var ev = PrequentialEvaluator(k: 2, windowSize: 2)
        let x = learner.items.index(of: "x")!
        let y = learner.items.index(of: "y")!
        let list = [ScoredIndex(index: x, score: 2), ScoredIndex(index: y, score: 1)]
        // A hit at rank 2.
        ev.record(eventIndex: 0, recommended: list, target: y, learner: learner, measureDiversity: false)
        ev.record(eventIndex: 1, recommended: list, target: nil, learner: learner, measureDiversity: false)  // miss
        #expect(ev.totals.recall == 0.5)
        #expect(abs(ev.totals.ndcg - (1 / log2(3.0)) / 2) < 1e-12)
        #expect(ev.totals.mrr == 0.25)
        // p(x) = 2/3, p(y) = 1/3: novelty = mean(−log2 p).
        #expect(abs(ev.totals.novelty - (-log2(2.0 / 3) - log2(1.0 / 3)) / 2) < 1e-9)
        #expect(ev.windows.count == 1 && ev.windows[0].recall == 0.5 && ev.windows[0].coverage == 1)
        #expect(ev.coverage(catalog: 4) == 0.5)
    }
}
